//! YouTube's Atom feeds, as pushed by the hub and as served for polling: entries for new or
//! edited videos and `at:deleted-entry` tombstones for deleted ones.
//!
//! The parser streams events from quick-xml and keeps only the fields it needs. It refuses any
//! `<!DOCTYPE>` outright, so entity declarations (the "billion laughs" attack) are never read,
//! let alone expanded: memory stays proportional to the input, which callers bound.

use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use vidpress_core::{ChannelId, IdError, VideoId};

/// The Atom namespace, the default namespace of every YouTube feed.
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
/// YouTube's own namespace, bound to the `yt:` prefix (`yt:videoId`, `yt:channelId`).
pub const YT_NS: &str = "http://www.youtube.com/xml/schemas/2015";
/// The Atom tombstones namespace (RFC 6721), bound to the `at:` prefix (`at:deleted-entry`).
pub const TOMBSTONES_NS: &str = "http://purl.org/atompub/tombstones/1.0";

/// Elements nested deeper than this are refused; YouTube's feeds are four levels deep.
const MAX_DEPTH: usize = 64;

/// A parsed feed: the videos it announces, the videos it says were deleted, and the entries it
/// carried that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Feed {
    /// The feed's `<link rel="self">`, which for a push is the subscribed topic.
    pub self_link: Option<String>,
    /// New or edited videos, in document order.
    pub entries: Vec<Entry>,
    /// Deleted videos, in document order.
    pub deleted: Vec<DeletedEntry>,
    /// Entries or tombstones that were skipped, with the reason, so callers can count them.
    pub rejected: Vec<RejectedEntry>,
}

/// A video announced by the feed: a new upload, or an edit of one (same id, later `updated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `yt:videoId`.
    pub video_id: VideoId,
    /// `yt:channelId`.
    pub channel_id: ChannelId,
    /// The video's title (`title`), whitespace-trimmed; empty if the feed had none.
    pub title: String,
    /// The watch page (`link rel="alternate"`).
    pub link: Option<String>,
    /// The channel as the feed names it (`author`).
    pub author: Option<Author>,
    /// When the video was published.
    pub published: Option<OffsetDateTime>,
    /// When the entry last changed; a title edit arrives with a later value.
    pub updated: Option<OffsetDateTime>,
}

impl Entry {
    /// [`Entry::published`] in milliseconds since the Unix epoch.
    pub fn published_ms(&self) -> Option<i64> {
        self.published.map(unix_ms)
    }

    /// [`Entry::updated`] in milliseconds since the Unix epoch.
    pub fn updated_ms(&self) -> Option<i64> {
        self.updated.map(unix_ms)
    }
}

impl DeletedEntry {
    /// [`DeletedEntry::deleted_at`] in milliseconds since the Unix epoch.
    pub fn deleted_ms(&self) -> Option<i64> {
        self.deleted_at.map(unix_ms)
    }
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The `author` of an entry or the `at:by` of a tombstone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Author {
    /// The channel's display name.
    pub name: String,
    /// The channel's page, `…/channel/UC…`.
    pub uri: Option<String>,
}

/// A deleted video (`<at:deleted-entry ref="yt:video:ID">`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedEntry {
    /// The deleted video.
    pub video_id: VideoId,
    /// The channel, read from `at:by/uri`, when the tombstone names one.
    pub channel_id: Option<ChannelId>,
    /// The tombstone's `when` attribute.
    pub deleted_at: Option<OffsetDateTime>,
    /// Who deleted it (`at:by`).
    pub by: Option<Author>,
}

/// An entry or tombstone that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedEntry {
    /// Its position among the feed's entries and tombstones, from 0.
    pub index: usize,
    /// Why it could not be used.
    pub reason: EntryError,
}

/// Why a single entry or tombstone could not be used. The rest of the feed is still read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The entry lacks `yt:videoId`, or the tombstone lacks a `ref` attribute.
    #[error("the entry names no video id")]
    MissingVideoId,
    /// The entry lacks `yt:channelId`.
    #[error("the entry names no channel id")]
    MissingChannelId,
    /// An id is not a valid YouTube id.
    #[error(transparent)]
    InvalidId(#[from] IdError),
    /// A tombstone's `ref` is not of the form `yt:video:ID`.
    #[error("the tombstone refers to `{0}`, not to a `yt:video:` id")]
    UnknownRef(String),
    /// A date is not an RFC 3339 timestamp.
    #[error("the {field} date `{value}` is not an RFC 3339 timestamp")]
    InvalidDate {
        /// Which element or attribute held it.
        field: &'static str,
        /// What it held.
        value: String,
    },
}

/// Why a document could not be read as a feed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The body is not UTF-8, the only encoding YouTube uses.
    #[error("the feed is not UTF-8 text (invalid byte at offset {0})")]
    NotUtf8(usize),
    /// The document has a `<!DOCTYPE>`; feeds never need one and it is how entity-expansion
    /// attacks begin, so it is refused before anything in it is read.
    #[error(
        "the feed contains a DOCTYPE declaration, which is refused (entity declarations are not allowed)"
    )]
    Doctype,
    /// The document uses an entity that is not one of XML's five predefined ones.
    #[error("the feed refers to the undeclared entity `&{0};`")]
    UndeclaredEntity(String),
    /// The document is not well-formed XML.
    #[error("the feed is not well-formed XML (at byte {position}): {message}")]
    Malformed {
        /// Byte offset where the problem was found.
        position: u64,
        /// What quick-xml or the parser found.
        message: String,
    },
    /// Elements are nested deeper than any feed needs.
    #[error("the feed nests elements more than {MAX_DEPTH} levels deep")]
    TooDeep,
    /// The root element is not an Atom `<feed>`.
    #[error("the document is not an Atom feed (its root element is `{0}`)")]
    NotAFeed(String),
}

/// Which namespace an element is in, as far as this parser cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Atom,
    Yt,
    Tombstones,
    Other,
}

/// Text-valued elements whose content the parser keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    VideoId,
    ChannelId,
    Title,
    Published,
    Updated,
    AuthorName,
    AuthorUri,
}

/// An open element, classified by where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Feed,
    Entry,
    Deleted,
    Author,
    By,
    Text(Field),
    Other,
}

/// Fields of the entry or tombstone being read.
#[derive(Debug, Default)]
struct Draft {
    video_ref: Option<String>,
    channel_id: Option<String>,
    title: Option<String>,
    link: Option<String>,
    author: Option<Author>,
    published: Option<String>,
    updated: Option<String>,
    when: Option<String>,
}

/// Parses a YouTube Atom feed.
///
/// Unknown elements and attributes are ignored. Entries that lack an id, or whose ids or dates
/// are invalid, are reported in [`Feed::rejected`] rather than failing the whole feed. Anything
/// that is not well-formed XML, declares a DOCTYPE or uses undeclared entities is an error.
pub fn parse_feed(body: &[u8]) -> Result<Feed, FeedError> {
    let text = std::str::from_utf8(body).map_err(|e| FeedError::NotUtf8(e.valid_up_to()))?;
    Parser::new(text).run()
}

struct Parser<'a> {
    reader: NsReader<&'a [u8]>,
    stack: Vec<Node>,
    root_seen: bool,
    feed: Feed,
    draft: Draft,
    text: String,
    seen: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let mut reader = NsReader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        Self {
            reader,
            stack: Vec::new(),
            root_seen: false,
            feed: Feed::default(),
            draft: Draft::default(),
            text: String::new(),
            seen: 0,
        }
    }

    fn malformed(&self, message: impl Into<String>) -> FeedError {
        FeedError::Malformed {
            position: self.reader.buffer_position(),
            message: message.into(),
        }
    }

    fn run(mut self) -> Result<Feed, FeedError> {
        loop {
            let (ns, event) = match self.reader.read_resolved_event() {
                Ok((ns, event)) => (classify(&ns), event),
                Err(e) => {
                    return Err(FeedError::Malformed {
                        position: self.reader.error_position(),
                        message: e.to_string(),
                    });
                }
            };
            match event {
                Event::DocType(_) => return Err(FeedError::Doctype),
                Event::Start(start) => {
                    let ns = ns.map_err(|m| self.malformed(m))?;
                    self.open(ns, &start)?;
                }
                Event::Empty(start) => {
                    let ns = ns.map_err(|m| self.malformed(m))?;
                    self.open(ns, &start)?;
                    self.close()?;
                }
                Event::End(_) => self.close()?,
                Event::Text(t) => self.push_text(&t.xml10_content()),
                Event::CData(t) => self.push_text(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    let resolved: Cow<'_, str> = match r.resolve_char_ref() {
                        Ok(Some(c)) => Cow::Owned(c.to_string()),
                        Ok(None) => match resolve_xml_entity(&r) {
                            Some(s) => Cow::Borrowed(s),
                            None => return Err(FeedError::UndeclaredEntity(r.to_string())),
                        },
                        Err(e) => return Err(self.malformed(e.to_string())),
                    };
                    self.push_text(&resolved);
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        if !self.root_seen {
            return Err(self.malformed("the document has no root element"));
        }
        if !self.stack.is_empty() {
            return Err(self.malformed("the document ends before its elements are closed"));
        }
        Ok(self.feed)
    }

    /// Classifies a newly opened element and records what it carries in attributes.
    fn open(&mut self, ns: Ns, start: &BytesStart<'_>) -> Result<(), FeedError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(FeedError::TooDeep);
        }
        check_attributes(start).map_err(|m| self.malformed(m))?;
        let local = start.local_name();
        let name = (ns, local.as_ref());
        let node = match self.stack.last().copied() {
            None => {
                if self.root_seen {
                    return Err(self.malformed("the document has more than one root element"));
                }
                self.root_seen = true;
                if name != (Ns::Atom, "feed") {
                    return Err(FeedError::NotAFeed(start.name().as_ref().to_owned()));
                }
                Node::Feed
            }
            Some(Node::Feed) => match name {
                (Ns::Atom, "entry") => {
                    self.draft = Draft::default();
                    Node::Entry
                }
                (Ns::Tombstones, "deleted-entry") => {
                    self.draft = Draft {
                        video_ref: attribute(start, "ref").map_err(|m| self.malformed(m))?,
                        when: attribute(start, "when").map_err(|m| self.malformed(m))?,
                        ..Draft::default()
                    };
                    Node::Deleted
                }
                (Ns::Atom, "link") => {
                    if attribute(start, "rel")
                        .map_err(|m| self.malformed(m))?
                        .as_deref()
                        == Some("self")
                    {
                        self.feed.self_link =
                            attribute(start, "href").map_err(|m| self.malformed(m))?;
                    }
                    Node::Other
                }
                _ => Node::Other,
            },
            Some(Node::Entry) => match name {
                (Ns::Yt, "videoId") => Node::Text(Field::VideoId),
                (Ns::Yt, "channelId") => Node::Text(Field::ChannelId),
                (Ns::Atom, "title") => Node::Text(Field::Title),
                (Ns::Atom, "published") => Node::Text(Field::Published),
                (Ns::Atom, "updated") => Node::Text(Field::Updated),
                (Ns::Atom, "author") => {
                    self.draft.author = Some(Author::default());
                    Node::Author
                }
                (Ns::Atom, "link") => {
                    self.read_alternate_link(start)?;
                    Node::Other
                }
                _ => Node::Other,
            },
            Some(Node::Deleted) => match name {
                (Ns::Tombstones, "by") => {
                    self.draft.author = Some(Author::default());
                    Node::By
                }
                (Ns::Atom, "link") => {
                    self.read_alternate_link(start)?;
                    Node::Other
                }
                _ => Node::Other,
            },
            Some(Node::Author | Node::By) => match name {
                (Ns::Atom, "name") => Node::Text(Field::AuthorName),
                (Ns::Atom, "uri") => Node::Text(Field::AuthorUri),
                _ => Node::Other,
            },
            Some(Node::Text(_) | Node::Other) => Node::Other,
        };
        if let Node::Text(_) = node {
            self.text.clear();
        }
        self.stack.push(node);
        Ok(())
    }

    /// Keeps an entry's watch link: `rel="alternate"`, or a link with no `rel` (Atom's default).
    fn read_alternate_link(&mut self, start: &BytesStart<'_>) -> Result<(), FeedError> {
        let rel = attribute(start, "rel").map_err(|m| self.malformed(m))?;
        if matches!(rel.as_deref(), None | Some("alternate")) && self.draft.link.is_none() {
            self.draft.link = attribute(start, "href").map_err(|m| self.malformed(m))?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), FeedError> {
        let Some(node) = self.stack.pop() else {
            return Err(self.malformed("an end tag closes nothing"));
        };
        match node {
            Node::Text(field) => {
                let value = self.text.trim().to_owned();
                let draft = &mut self.draft;
                match field {
                    Field::VideoId => draft.video_ref = Some(value),
                    Field::ChannelId => draft.channel_id = Some(value),
                    Field::Title => draft.title = Some(value),
                    Field::Published => draft.published = Some(value),
                    Field::Updated => draft.updated = Some(value),
                    Field::AuthorName => {
                        draft.author.get_or_insert_with(Author::default).name = value
                    }
                    Field::AuthorUri => {
                        draft.author.get_or_insert_with(Author::default).uri = Some(value)
                    }
                }
            }
            Node::Entry => {
                let draft = std::mem::take(&mut self.draft);
                let index = self.next_index();
                match build_entry(draft) {
                    Ok(entry) => self.feed.entries.push(entry),
                    Err(reason) => self.feed.rejected.push(RejectedEntry { index, reason }),
                }
            }
            Node::Deleted => {
                let draft = std::mem::take(&mut self.draft);
                let index = self.next_index();
                match build_deleted(draft) {
                    Ok(deleted) => self.feed.deleted.push(deleted),
                    Err(reason) => self.feed.rejected.push(RejectedEntry { index, reason }),
                }
            }
            Node::Feed | Node::Author | Node::By | Node::Other => {}
        }
        Ok(())
    }

    fn next_index(&mut self) -> usize {
        self.seen += 1;
        self.seen - 1
    }

    fn push_text(&mut self, text: &str) {
        if let Some(Node::Text(_)) = self.stack.last() {
            self.text.push_str(text);
        }
    }
}

/// Maps a resolved namespace to the ones the parser knows; an undeclared prefix is an error.
fn classify(ns: &ResolveResult<'_>) -> Result<Ns, String> {
    match ns {
        ResolveResult::Bound(ns) => Ok(match ns.as_ref() {
            ATOM_NS => Ns::Atom,
            YT_NS => Ns::Yt,
            TOMBSTONES_NS => Ns::Tombstones,
            _ => Ns::Other,
        }),
        ResolveResult::Unbound => Ok(Ns::Other),
        ResolveResult::Unknown(prefix) => {
            Err(format!("the namespace prefix `{prefix}` is not declared"))
        }
    }
}

/// Checks every attribute for well-formedness (no duplicates, proper quoting, only predefined
/// entities), so a document is refused the same way whichever elements it puts them on.
fn check_attributes(start: &BytesStart<'_>) -> Result<(), String> {
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        if attr.value.contains('&') {
            attr.normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The value of an unprefixed attribute, with entities and whitespace normalised.
fn attribute(start: &BytesStart<'_>, key: &str) -> Result<Option<String>, String> {
    for attr in start.attributes() {
        let attr: Attribute<'_> = attr.map_err(|e| e.to_string())?;
        if attr.key.as_ref() == key {
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| e.to_string())?;
            return Ok(Some(value.trim().to_owned()));
        }
    }
    Ok(None)
}

fn build_entry(draft: Draft) -> Result<Entry, EntryError> {
    let video_id = VideoId::parse(
        draft
            .video_ref
            .as_deref()
            .ok_or(EntryError::MissingVideoId)?,
    )?;
    let channel_id = ChannelId::parse(
        draft
            .channel_id
            .as_deref()
            .ok_or(EntryError::MissingChannelId)?,
    )?;
    Ok(Entry {
        video_id,
        channel_id,
        title: draft.title.unwrap_or_default(),
        link: draft.link,
        author: draft.author,
        published: parse_date("published", draft.published)?,
        updated: parse_date("updated", draft.updated)?,
    })
}

fn build_deleted(draft: Draft) -> Result<DeletedEntry, EntryError> {
    let reference = draft.video_ref.ok_or(EntryError::MissingVideoId)?;
    let id = reference
        .strip_prefix("yt:video:")
        .ok_or_else(|| EntryError::UnknownRef(reference.clone()))?;
    let video_id = VideoId::parse(id)?;
    let channel_id = match draft.author.as_ref().and_then(|a| a.uri.as_deref()) {
        Some(uri) => channel_from_uri(uri).transpose()?,
        None => None,
    };
    Ok(DeletedEntry {
        video_id,
        channel_id,
        deleted_at: parse_date("when", draft.when)?,
        by: draft.author,
    })
}

/// Reads the channel id out of a `…/channel/UC…` URL; `None` if the URL has no such segment.
pub fn channel_from_uri(uri: &str) -> Option<Result<ChannelId, IdError>> {
    let (_, rest) = uri.split_once("/channel/")?;
    let id = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Some(ChannelId::parse(id))
}

fn parse_date(
    field: &'static str,
    value: Option<String>,
) -> Result<Option<OffsetDateTime>, EntryError> {
    match value {
        None => Ok(None),
        Some(value) => match OffsetDateTime::parse(&value, &Rfc3339) {
            Ok(date) => Ok(Some(date)),
            Err(_) => Err(EntryError::InvalidDate { field, value }),
        },
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const CHANNEL: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn a_new_upload_push_yields_one_entry() {
        let feed = parse_feed(&fixture("new_upload.xml")).unwrap();
        assert_eq!(feed.deleted, []);
        assert_eq!(feed.rejected, []);
        assert_eq!(
            feed.self_link.as_deref(),
            Some(
                "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCuAXFkgsw1L7xaCfnd5JJOw"
            )
        );
        let [entry] = feed.entries.as_slice() else {
            panic!("expected one entry, got {:?}", feed.entries)
        };
        assert_eq!(entry.video_id.as_str(), "dQw4w9WgXcQ");
        assert_eq!(entry.channel_id.as_str(), CHANNEL);
        assert_eq!(entry.title, "How we built a self-hosted blog pipeline");
        assert_eq!(
            entry.link.as_deref(),
            Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        );
        let author = entry.author.as_ref().unwrap();
        assert_eq!(author.name, "Vidpress Test Channel");
        assert_eq!(
            author.uri.as_deref(),
            Some("https://www.youtube.com/channel/UCuAXFkgsw1L7xaCfnd5JJOw")
        );
        assert_eq!(entry.published, Some(datetime!(2026-11-20 17:00:04 UTC)));
        assert_eq!(
            entry.updated,
            Some(datetime!(2026-11-20 17:02:11.104536597 UTC))
        );
    }

    #[test]
    fn a_title_edit_has_the_same_id_a_later_update_and_decoded_text() {
        let first = parse_feed(&fixture("new_upload.xml"))
            .unwrap()
            .entries
            .remove(0);
        let edit = parse_feed(&fixture("title_edit.xml"))
            .unwrap()
            .entries
            .remove(0);
        assert_eq!(edit.video_id, first.video_id);
        assert!(edit.updated > first.updated);
        assert_eq!(edit.published, first.published);
        assert_eq!(
            edit.title,
            "How we built a self-hosted blog pipeline (& what broke) — part 1"
        );
    }

    #[test]
    fn a_deletion_tombstone_names_the_video_and_the_channel_from_at_by() {
        let feed = parse_feed(&fixture("deleted.xml")).unwrap();
        assert_eq!(feed.entries, []);
        let [deleted] = feed.deleted.as_slice() else {
            panic!("expected one tombstone, got {:?}", feed.deleted)
        };
        assert_eq!(deleted.video_id.as_str(), "dQw4w9WgXcQ");
        assert_eq!(
            deleted.channel_id.as_ref().map(ChannelId::as_str),
            Some(CHANNEL)
        );
        assert_eq!(
            deleted.deleted_at,
            Some(datetime!(2026-11-22 08:01:27.117137 UTC))
        );
        assert_eq!(
            deleted.by.as_ref().map(|b| b.name.as_str()),
            Some("Vidpress Test Channel")
        );
    }

    #[test]
    fn a_channel_feed_with_several_entries_and_media_extras_keeps_order() {
        let feed = parse_feed(&fixture("channel_feed.xml")).unwrap();
        let ids: Vec<&str> = feed.entries.iter().map(|e| e.video_id.as_str()).collect();
        assert_eq!(ids, ["aaaaaaaaaa1", "bbbbbbbbbb2", "cccccccccc3"]);
        let titles: Vec<&str> = feed.entries.iter().map(|e| e.title.as_str()).collect();
        // `media:title` must not replace the Atom title, and CDATA is taken literally.
        assert_eq!(titles, ["Third upload", "Second <upload>", "First upload"]);
        // The feed-level `yt:channelId` (without `UC`) is not an entry and is not rejected.
        assert_eq!(feed.rejected, []);
    }

    #[test]
    fn unknown_elements_and_look_alikes_in_other_namespaces_are_ignored() {
        let xml = format!(
            r#"<?xml version="1.0"?>
            <!-- a comment --><?processing instruction?>
            <a:feed xmlns:a="http://www.w3.org/2005/Atom" xmlns:y="http://www.youtube.com/xml/schemas/2015"
                    xmlns:x="urn:example:other">
              <y:videoId>zzzzzzzzzzz</y:videoId>
              <x:entry><y:videoId>yyyyyyyyyyy</y:videoId></x:entry>
              <a:entry x:extra="1">
                <x:title>not the title</x:title>
                <a:title type="text">Real <x:b>title</x:b></a:title>
                <x:videoId>xxxxxxxxxxx</x:videoId>
                <y:videoId>dQw4w9WgXcQ</y:videoId>
                <y:channelId>{CHANNEL}</y:channelId>
                <a:link rel="enclosure" href="https://example.org/audio.mp3"/>
                <a:link href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"/>
                <a:author><a:name>Name</a:name><x:uri>urn:no</x:uri></a:author>
                <x:deep><x:deeper><a:entry><y:videoId>wwwwwwwwwww</y:videoId></a:entry></x:deeper></x:deep>
                <yt:unbound xmlns:yt="urn:not-youtube">ignored</yt:unbound>
              </a:entry>
            </a:feed>"#
        );
        let feed = parse_feed(xml.as_bytes()).unwrap();
        assert_eq!(feed.rejected, []);
        let [entry] = feed.entries.as_slice() else {
            panic!("expected one entry, got {:?}", feed.entries)
        };
        assert_eq!(entry.video_id.as_str(), "dQw4w9WgXcQ");
        // Text inside unknown child elements of the title is not part of it.
        assert_eq!(entry.title, "Real");
        assert_eq!(
            entry.link.as_deref(),
            Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        );
        assert_eq!(entry.author.as_ref().unwrap().uri, None);
        assert_eq!((entry.published, entry.updated), (None, None));
    }

    #[test]
    fn unusable_entries_are_rejected_one_by_one() {
        let xml = format!(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:yt="http://www.youtube.com/xml/schemas/2015"
                     xmlns:at="http://purl.org/atompub/tombstones/1.0">
              <entry><yt:channelId>{CHANNEL}</yt:channelId></entry>
              <entry><yt:videoId>short</yt:videoId><yt:channelId>{CHANNEL}</yt:channelId></entry>
              <entry><yt:videoId>dQw4w9WgXcQ</yt:videoId></entry>
              <entry><yt:videoId>dQw4w9WgXcQ</yt:videoId><yt:channelId>{CHANNEL}</yt:channelId>
                     <published>yesterday</published></entry>
              <at:deleted-entry ref="tag:example.org,2026:1"/>
              <at:deleted-entry/>
              <entry><yt:videoId>dQw4w9WgXcQ</yt:videoId><yt:channelId>{CHANNEL}</yt:channelId></entry>
              <at:deleted-entry ref="yt:video:aaaaaaaaaa1"/>
            </feed>"#
        );
        let feed = parse_feed(xml.as_bytes()).unwrap();
        let reasons: Vec<(usize, &EntryError)> =
            feed.rejected.iter().map(|r| (r.index, &r.reason)).collect();
        assert_eq!(reasons.len(), 6, "{reasons:?}");
        assert!(matches!(reasons[0], (0, EntryError::MissingVideoId)));
        assert!(matches!(
            reasons[1],
            (1, EntryError::InvalidId(IdError::Video(_)))
        ));
        assert!(matches!(reasons[2], (2, EntryError::MissingChannelId)));
        assert!(matches!(
            reasons[3],
            (
                3,
                EntryError::InvalidDate {
                    field: "published",
                    ..
                }
            )
        ));
        assert!(matches!(reasons[4], (4, EntryError::UnknownRef(_))));
        assert!(matches!(reasons[5], (5, EntryError::MissingVideoId)));
        assert_eq!(feed.entries.len(), 1);
        assert_eq!(feed.deleted.len(), 1);
        assert_eq!(feed.deleted[0].channel_id, None);
        assert!(reasons[3].1.to_string().contains("`yesterday`"));
    }

    #[test]
    fn malformed_documents_are_typed_errors() {
        type Check = fn(&FeedError) -> bool;
        let cases: [(&str, Check); 9] = [
            ("", |e| matches!(e, FeedError::Malformed { .. })),
            ("   \n", |e| matches!(e, FeedError::Malformed { .. })),
            (
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry></feed>"#,
                |e| matches!(e, FeedError::Malformed { .. }),
            ),
            (
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry>"#,
                |e| matches!(e, FeedError::Malformed { .. }),
            ),
            (
                r#"<feed xmlns="http://www.w3.org/2005/Atom" a="1" a="2"/>"#,
                |e| matches!(e, FeedError::Malformed { .. }),
            ),
            (
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><q:x/></feed>"#,
                |e| matches!(e, FeedError::Malformed { message, .. } if message.contains("`q`")),
            ),
            (
                r#"<feed xmlns="http://www.w3.org/2005/Atom"/><feed xmlns="http://www.w3.org/2005/Atom"/>"#,
                |e| matches!(e, FeedError::Malformed { .. }),
            ),
            (
                r#"<rss version="2.0"><channel/></rss>"#,
                |e| matches!(e, FeedError::NotAFeed(n) if n == "rss"),
            ),
            ("<feed/>", |e| matches!(e, FeedError::NotAFeed(_))),
        ];
        for (xml, expected) in cases {
            let err = parse_feed(xml.as_bytes()).unwrap_err();
            assert!(expected(&err), "{xml:?} gave {err:?}");
            assert!(!err.to_string().is_empty());
        }
        assert_eq!(parse_feed(b"<feed>\xff</feed>"), Err(FeedError::NotUtf8(6)));
        let deep = "<feed xmlns=\"http://www.w3.org/2005/Atom\">".to_owned() + &"<x>".repeat(100);
        assert_eq!(parse_feed(deep.as_bytes()), Err(FeedError::TooDeep));
    }

    #[test]
    fn an_empty_feed_is_valid() {
        let feed = parse_feed(br#"<feed xmlns="http://www.w3.org/2005/Atom"/>"#).unwrap();
        assert_eq!(feed, Feed::default());
    }

    #[test]
    fn billion_laughs_is_refused_at_the_doctype_without_expansion() {
        // The classic attack: ten levels of ten-fold entity references, 10^9 "lol"s if expanded.
        let mut dtd = String::from("<!DOCTYPE feed [\n  <!ENTITY lol \"lol\">\n");
        for level in 1..=9 {
            let refs = format!(
                "&lol{};",
                if level == 1 {
                    String::new()
                } else {
                    (level - 1).to_string()
                }
            );
            dtd.push_str(&format!("  <!ENTITY lol{level} \"{}\">\n", refs.repeat(10)));
        }
        dtd.push_str("]>\n");
        let attack = format!(
            "<?xml version=\"1.0\"?>\n{dtd}<feed xmlns=\"http://www.w3.org/2005/Atom\" \
             xmlns:yt=\"http://www.youtube.com/xml/schemas/2015\"><entry><title>&lol9;</title>\
             <yt:videoId>dQw4w9WgXcQ</yt:videoId><yt:channelId>{CHANNEL}</yt:channelId></entry></feed>"
        );
        assert!(attack.len() < 2_000, "the attack document itself is small");
        assert_eq!(parse_feed(attack.as_bytes()), Err(FeedError::Doctype));
        // Even an external-subset-only DOCTYPE is refused.
        let external = br#"<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/x.dtd"><feed xmlns="http://www.w3.org/2005/Atom"/>"#;
        assert_eq!(parse_feed(external), Err(FeedError::Doctype));
    }

    #[test]
    fn entity_references_without_a_doctype_are_refused_not_expanded() {
        let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol9;</title></feed>"#;
        assert_eq!(
            parse_feed(xml.as_bytes()),
            Err(FeedError::UndeclaredEntity("lol9".into()))
        );
        let in_attribute =
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><link rel="self" href="&lol9;"/></feed>"#;
        assert!(matches!(
            parse_feed(in_attribute.as_bytes()),
            Err(FeedError::Malformed { .. })
        ));
    }

    #[test]
    fn channel_ids_come_out_of_channel_urls() {
        let id = |uri: &str| channel_from_uri(uri).map(|r| r.map(|c| c.to_string()));
        assert_eq!(
            id(&format!("https://www.youtube.com/channel/{CHANNEL}")),
            Some(Ok(CHANNEL.into()))
        );
        assert_eq!(
            id(&format!("http://youtube.com/channel/{CHANNEL}/videos?x#y")),
            Some(Ok(CHANNEL.into()))
        );
        assert_eq!(id("https://www.youtube.com/@handle"), None);
        assert!(matches!(
            id("https://www.youtube.com/channel/UCbad"),
            Some(Err(_))
        ));
    }
}
