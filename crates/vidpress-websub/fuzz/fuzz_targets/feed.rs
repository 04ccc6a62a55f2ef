//! Feeds arbitrary bytes to the Atom feed parser: it must never panic, hang or blow up in
//! memory, and what it returns must be consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(feed) = vidpress_websub::parse_feed(data) {
        let total = feed.entries.len() + feed.deleted.len() + feed.rejected.len();
        for rejected in &feed.rejected {
            assert!(rejected.index < total, "rejected index out of range");
        }
        // Nothing the parser keeps can be longer than the input it came from.
        for entry in &feed.entries {
            assert!(entry.title.len() <= data.len());
        }
    }
});
