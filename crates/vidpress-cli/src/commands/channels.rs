//! `vidpress channels`: link a YouTube channel (its uploads then arrive by WebSub, with a feed
//! poll as the backstop), list linked channels with their subscription state, and unlink one.
//! The account acted for is the operator's (`owner_email`, or the admin once the dashboard's
//! first run has claimed it); a running `vidpress serve` or `vidpress worker`
//! carries out the subscription jobs these commands queue.

use std::time::Duration;

use anyhow::Context;
use vidpress_store::channels::ChannelStatus;
use vidpress_store::subscriptions::SubscriptionState;
use vidpress_websub::ChannelRef;

use crate::commands::serve::{http_client, open_store, youtube};
use crate::config::Config;

/// What to do with channels.
#[derive(Debug, clap::Subcommand)]
pub enum ChannelsCommand {
    /// Link a channel: a channel URL (/channel/UC…, /@handle, /c/NAME, /user/NAME), @handle or
    /// channel id. Its new uploads become drafts.
    Add {
        /// The channel.
        channel: String,
    },
    /// List linked channels and their subscription state.
    List {
        /// Show each channel's most recent videos and their state too.
        #[arg(long)]
        videos: bool,
    },
    /// Unlink a channel: unsubscribe from its uploads. Its videos and drafts stay.
    Remove {
        /// The channel, as for `add`.
        channel: String,
    },
}

/// Runs a `channels` subcommand.
pub async fn run(config: &Config, command: &ChannelsCommand) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let owner = store
        .operator_user(&config.owner_email)
        .await
        .context("Failed to create the owner account")?;
    let result = match command {
        ChannelsCommand::Add { channel } => {
            let youtube = youtube(config, http_client()?);
            let poll = Duration::from_secs(config.feed_poll_seconds);
            let linked =
                vidpress_worker::websub::link_channel(&store, &youtube, owner.id, channel, poll)
                    .await
                    .with_context(|| format!("Failed to link {channel}"))?;
            let name = display_name(&linked.channel.title, linked.channel.youtube_id.as_str());
            if linked.newly_linked {
                println!(
                    "linked {name}: a running `vidpress serve` or `vidpress worker` subscribes to \
                     its uploads at {} (callbacks to {})",
                    config.websub_hub_url, config.public_url
                );
            } else {
                println!("{name} was already linked");
            }
            if let Some(warning) = unreachable_callback(config) {
                eprintln!("warning: {warning}");
            }
            Ok(())
        }
        ChannelsCommand::List { videos } => {
            let channels = store.channels(owner.id).await?;
            if channels.is_empty() {
                println!("no channels linked; add one with `vidpress channels add URL|@handle`");
            }
            for status in &channels {
                println!("{}", describe(status));
                if *videos {
                    let filter = vidpress_store::library::VideoFilter {
                        state: None,
                        channel: Some(status.channel.id),
                    };
                    let recent = store
                        .list_videos(owner.id, &filter, 0, RECENT_VIDEOS)
                        .await?;
                    if recent.is_empty() {
                        println!("\t(no videos yet)");
                    }
                    for video in recent.iter().take(RECENT_VIDEOS as usize) {
                        let state = if video.deleted_at.is_some() {
                            "deleted"
                        } else {
                            video.state.as_str()
                        };
                        println!(
                            "\t{}\t{}\t{}",
                            video.youtube_id.as_deref().unwrap_or("-"),
                            state,
                            video.title
                        );
                    }
                }
            }
            Ok(())
        }
        ChannelsCommand::Remove { channel } => {
            let reference = ChannelRef::parse(channel)?;
            let id = match reference {
                ChannelRef::Id(id) => id,
                other => {
                    youtube(config, http_client()?)
                        .resolve(&other)
                        .await
                        .with_context(|| format!("Failed to look up {channel}"))?
                        .id
                }
            };
            if store.unlink_channel(owner.id, &id).await? {
                println!("unlinked {id}; its videos and drafts stay");
                Ok(())
            } else {
                Err(anyhow::anyhow!("{channel} is not linked"))
            }
        }
    };
    store.close().await;
    result
}

/// How many of a channel's videos `channels list --videos` shows.
const RECENT_VIDEOS: u32 = 10;

fn display_name(title: &str, id: &str) -> String {
    if title.is_empty() {
        id.to_owned()
    } else {
        format!("{title} ({id})")
    }
}

/// One line per channel: name, subscription state, lease expiry or last error.
fn describe(status: &ChannelStatus) -> String {
    let name = display_name(&status.channel.title, status.channel.youtube_id.as_str());
    let state = match status.state {
        Some(SubscriptionState::Active) => match status.lease_expires_at {
            Some(at) => format!("subscribed until {}", utc(at)),
            None => "subscribed".to_owned(),
        },
        Some(SubscriptionState::Pending) => match &status.last_error {
            Some(e) => format!("subscribing (retrying after: {e})"),
            None => "subscribing".to_owned(),
        },
        Some(SubscriptionState::Failed) => format!(
            "subscription failed: {} (run `vidpress channels add` again to retry)",
            status.last_error.as_deref().unwrap_or("no reason recorded")
        ),
        Some(SubscriptionState::Unsubscribed) => "unsubscribed".to_owned(),
        None => "no subscription".to_owned(),
    };
    format!("{name}\t{state}")
}

fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// A warning when the hub is elsewhere but the callback URL points at this machine's loopback.
fn unreachable_callback(config: &Config) -> Option<String> {
    let local = |url: &url::Url| match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => true,
    };
    (local(&config.public_url) && !local(&config.websub_hub_url)).then(|| {
        format!(
            "the hub at {} cannot reach {}; set `public_url` to this server's public address",
            config.websub_hub_url, config.public_url
        )
    })
}
