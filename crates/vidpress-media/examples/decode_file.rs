//! Decodes the files named on the command line and prints their length or the error:
//! `cargo run -p vidpress-media --example decode_file -- FILE...`

fn main() {
    for arg in std::env::args_os().skip(1) {
        let path = std::path::PathBuf::from(arg);
        match vidpress_media::decode_audio(&path, |_| {}) {
            Ok(samples) => println!(
                "{}: {} samples, {:.3} s",
                path.display(),
                samples.len(),
                samples.len() as f64 / f64::from(vidpress_media::SAMPLE_RATE)
            ),
            Err(error) => println!("{error}"),
        }
    }
}
