//! Export benchmark: how long exporting a 3,000-word draft with a 1200×630 header image takes,
//! to a real WordPress and a real Ghost started on 127.0.0.1 (as the tests start them): the
//! first export (image upload, tags, post creation) and a re-export (the same post updated, the
//! unchanged image reused), median of N each.
//!
//! `cargo bench -p vidpress-publish --bench export` (needs scripts/export-peers.sh);
//! `VIDPRESS_BENCH_RUNS=10` sets N (default 10).

use std::time::{Duration, Instant};

use vidpress_core::net::AddressPolicy;
use vidpress_publish::testing::{GhostSite, WP_USER, WordPressSite, png};
use vidpress_publish::{
    Ghost, Http, HttpConfig, Image, Post, PostStatus, Previous, Publisher, Secret, WordPress,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const WORDS: &[&str] = &[
    "ownership",
    "borrowing",
    "the",
    "compiler",
    "checks",
    "every",
    "reference",
    "and",
    "value",
    "lifetime",
    "so",
    "memory",
    "stays",
    "safe",
    "without",
    "a",
    "garbage",
    "collector",
    "while",
    "programs",
    "run",
    "fast",
    "threads",
    "share",
    "data",
    "only",
    "when",
    "types",
    "allow",
    "it",
    "which",
    "makes",
    "whole",
    "classes",
    "of",
    "bugs",
    "impossible",
];

/// A draft of `words` words in sections of four paragraphs.
fn long_post(words: usize, image: Vec<u8>) -> Post {
    let mut html = String::new();
    let mut written = 0;
    let mut section = 0;
    while written < words {
        if written % 600 == 0 {
            section += 1;
            html.push_str(&format!("<h2>Part {section}</h2>\n"));
        }
        html.push_str("<p>");
        for i in 0..150.min(words - written) {
            let word = WORDS[(written + i * 7) % WORDS.len()];
            html.push_str(word);
            html.push(if i % 15 == 14 { '.' } else { ' ' });
        }
        written += 150.min(words - written);
        html.push_str("</p>\n");
    }
    Post {
        title: "Rust ownership, explained at length".to_owned(),
        slug: "rust-ownership-at-length".to_owned(),
        html,
        excerpt: "Ownership and borrowing in Rust, from the ground up.".to_owned(),
        tags: vec!["rust".into(), "memory safety".into(), "ownership".into()],
        status: PostStatus::Draft,
        image: Some(Image {
            file_name: "header.png".to_owned(),
            content_type: "image/png".to_owned(),
            bytes: image,
        }),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

async fn measure(name: &str, publisher: &Publisher, post: &Post, runs: usize) -> Result<String> {
    let mut first = Vec::with_capacity(runs);
    let mut again = Vec::with_capacity(runs);
    let mut slow_first = Duration::ZERO;
    for run in 0..runs {
        let mut post = post.clone();
        post.slug = format!("{}-{run}", post.slug);
        let start = Instant::now();
        let made = publisher.publish(&post, None).await?;
        let took = start.elapsed();
        first.push(took);
        slow_first = slow_first.max(took);
        let previous = Previous {
            remote_id: made.remote_id.clone(),
            updated_at: made.updated_at.clone(),
            image: made.image.clone(),
        };
        post.html
            .push_str("<p>One more sentence, edited after the first export.</p>");
        let start = Instant::now();
        let updated = publisher.publish(&post, Some(&previous)).await?;
        again.push(start.elapsed());
        if updated.remote_id != made.remote_id {
            return Err(format!("{name}: the re-export made a second post").into());
        }
    }
    let (first_max, again_max) = (
        first.iter().max().copied().unwrap_or_default(),
        again.iter().max().copied().unwrap_or_default(),
    );
    Ok(format!(
        "| {name} | {} | {} | {} | {} |",
        ms(median(first)),
        ms(first_max),
        ms(median(again)),
        ms(again_max)
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    let runs = std::env::var("VIDPRESS_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(10)
        .max(1);
    let image = png(1200, 630);
    let post = long_post(3000, image.clone());
    let words = 3000;
    println!(
        "starting WordPress (PHP built-in server, MariaDB) and Ghost {} (SQLite) on 127.0.0.1…",
        vidpress_publish::testing::GHOST_VERSION
    );
    let (wordpress, ghost) = tokio::join!(WordPressSite::start(), GhostSite::start());
    let http = Http::new(HttpConfig {
        policy: AddressPolicy::ALLOW_PRIVATE,
        ..HttpConfig::default()
    })?;
    let wp = Publisher::WordPress(WordPress::new(
        http.clone(),
        &wordpress.url,
        WP_USER,
        Secret::new(wordpress.app_password.clone()),
    ));
    let gh = Publisher::Ghost(Ghost::new(
        http,
        &ghost.url,
        &Secret::new(ghost.admin_key.clone()),
    )?);
    // One export each first, so PHP's opcode cache and Ghost's lazy loading are warm.
    wp.publish(&post, None).await?;
    gh.publish(&post, None).await?;
    println!(
        "a {words}-word draft, a 1200×630 PNG header ({} KiB), {runs} runs each",
        image.len() / 1024
    );
    println!();
    println!("| site | first export median ms | max ms | re-export median ms | max ms |");
    println!("|---|---|---|---|---|");
    println!("{}", measure("WordPress 6.1", &wp, &post, runs).await?);
    println!(
        "{}",
        measure(
            &format!("Ghost {}", vidpress_publish::testing::GHOST_VERSION),
            &gh,
            &post,
            runs
        )
        .await?
    );
    Ok(())
}
