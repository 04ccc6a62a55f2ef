//! `vidpress connections` (add, list, test and remove WordPress and Ghost connections) and
//! `vidpress export` (a video's draft to a connection, as a durable job run here until it ends,
//! or as files). The account acted for is the operator's, as for `vidpress channels`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use vidpress_core::net::AddressPolicy;
use vidpress_publish::files::{FileDraft, FileFormat};
use vidpress_publish::{Exporters, HttpConfig, PostStatus, Secret, SecretKey};
use vidpress_store::exports::{ConnectionKind, ExportRequest, ExportState, NewConnection};
use vidpress_store::{Store, UserId, VideoKey};
use vidpress_worker::{ExportJobs, Registry, WorkerPool};

use crate::commands::serve::{open_store, pool_config};
use crate::config::Config;

/// The environment variable `connections add` reads the secret from (else standard input), so
/// it never appears in a command line or shell history.
pub const SECRET_VARIABLE: &str = "VIDPRESS_CONNECTION_SECRET";

/// The exporters from the configuration: the secret key (configured, or generated once into
/// the data directory) and the address policy.
pub fn exporters(config: &Config) -> anyhow::Result<Exporters> {
    let key = match &config.secret_key {
        Some(key) => key.clone(),
        None => SecretKey::load_or_create(&config.data_dir.join("secret.key"))
            .context("Failed to set up the secret key (setting `secret_key`)")?,
    };
    let policy = if config.allow_private_addresses {
        AddressPolicy::ALLOW_PRIVATE
    } else {
        AddressPolicy::PUBLIC_ONLY
    };
    Ok(Exporters::new(
        key,
        HttpConfig {
            policy,
            ..HttpConfig::default()
        },
    )?)
}

/// What to do with connections.
#[derive(Debug, clap::Subcommand)]
pub enum ConnectionsCommand {
    /// Add a WordPress or Ghost connection, then test it. The secret (WordPress Application
    /// Password, or Ghost Admin API key) is read from VIDPRESS_CONNECTION_SECRET or, when that
    /// is unset, from the first line of standard input.
    Add {
        /// A name to refer to it by.
        name: String,
        /// `wordpress` or `ghost`.
        #[arg(long, value_name = "wordpress|ghost")]
        kind: String,
        /// The site's address (WordPress: its home page; Ghost: its admin URL).
        #[arg(long)]
        url: String,
        /// WordPress: the account the Application Password belongs to.
        #[arg(long)]
        username: Option<String>,
    },
    /// List connections and how their last test went.
    List,
    /// Test a connection: reachable, the right kind of site, the credentials accepted.
    Test {
        /// The connection's name.
        name: String,
    },
    /// Remove a connection (the posts it made stay on the site).
    Remove {
        /// The connection's name.
        name: String,
    },
}

/// Options of `vidpress export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The video whose draft to export (its id, as `vidpress` and the dashboard show it).
    video: i64,
    /// Send the draft to this connection (again: the same remote post is updated).
    #[arg(long, value_name = "CONNECTION", conflicts_with_all = ["format", "out"])]
    to: Option<String>,
    /// With --to: draft (the default), publish, or schedule (with --at).
    #[arg(long, value_name = "draft|publish|schedule")]
    status: Option<String>,
    /// With --to: the time the site publishes the post at (RFC 3339, e.g. 2026-12-03T09:00:00Z
    /// or 2026-12-03T10:00:00+01:00); implies --status schedule.
    #[arg(long, value_name = "TIME", requires = "to")]
    at: Option<String>,
    /// Write files instead: markdown, html, srt or vtt (repeatable).
    #[arg(long, value_name = "markdown|html|srt|vtt", requires = "out")]
    format: Vec<String>,
    /// With --format: the directory to write into.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

async fn owner(config: &Config, store: &Store) -> anyhow::Result<UserId> {
    Ok(store
        .operator_user(&config.owner_email)
        .await
        .context("Failed to create the owner account")?
        .id)
}

fn read_secret() -> anyhow::Result<Secret> {
    if let Ok(value) = std::env::var(SECRET_VARIABLE)
        && !value.trim().is_empty()
    {
        return Ok(Secret::new(value.trim()));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("Failed to read the secret from standard input")?;
    let line = line.trim();
    if line.is_empty() {
        bail!(
            "no secret given: set {SECRET_VARIABLE} or pass the Application Password / Admin API \
             key on standard input"
        );
    }
    Ok(Secret::new(line))
}

/// Runs a `connections` subcommand.
pub async fn connections(config: &Config, command: &ConnectionsCommand) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let user = owner(config, &store).await?;
    let exporters = exporters(config)?;
    match command {
        ConnectionsCommand::Add {
            name,
            kind,
            url,
            username,
        } => {
            let kind = ConnectionKind::parse(kind).with_context(|| {
                format!("`{kind}` is not a connection kind; use wordpress or ghost")
            })?;
            let name = name.trim();
            if name.is_empty() {
                bail!("the connection needs a name");
            }
            let url = exporters.parse_url(url)?;
            let username = username.as_deref().map(str::trim).filter(|u| !u.is_empty());
            if kind == ConnectionKind::WordPress && username.is_none() {
                bail!(
                    "a WordPress connection needs --username (the account the Application Password belongs to)"
                );
            }
            let secret = read_secret()?;
            // Checked before storing: a malformed Ghost key is refused here, not at export.
            exporters.connect(
                vidpress_worker::export::site_kind(kind),
                url.as_str(),
                username,
                &secret,
            )?;
            let sealed = exporters.seal(&secret, user.0);
            let id = store
                .create_connection(
                    user,
                    &NewConnection {
                        kind,
                        name,
                        url: url.as_str(),
                        username,
                        sealed_secret: &sealed,
                    },
                )
                .await?
                .with_context(|| format!("there is already a connection named `{name}`"))?;
            println!("added {} connection `{name}` for {url}", kind.label());
            test(&store, &exporters, user, id).await
        }
        ConnectionsCommand::List => {
            let connections = store.connections(user).await?;
            if connections.is_empty() {
                println!(
                    "no connections; add one with `vidpress connections add NAME --kind wordpress|ghost --url URL`"
                );
            }
            for c in connections {
                let test = match (c.test_ok, c.test_message.as_deref()) {
                    (Some(true), _) => "tested OK".to_owned(),
                    (Some(false), Some(message)) => format!("last test failed: {message}"),
                    _ => "not tested".to_owned(),
                };
                let who = c.username.map(|u| format!(" as {u}")).unwrap_or_default();
                println!("{}\t{}\t{}{who}\t{test}", c.name, c.kind.label(), c.url);
            }
            Ok(())
        }
        ConnectionsCommand::Test { name } => {
            let connection = store
                .connection_by_name(user, name)
                .await?
                .with_context(|| format!("no connection named `{name}`"))?;
            test(&store, &exporters, user, connection.id).await
        }
        ConnectionsCommand::Remove { name } => {
            let connection = store
                .connection_by_name(user, name)
                .await?
                .with_context(|| format!("no connection named `{name}`"))?;
            store.delete_connection(user, connection.id).await?;
            println!("removed connection `{name}`");
            Ok(())
        }
    }
}

/// Tests a stored connection, records the outcome, and fails with its message.
async fn test(store: &Store, exporters: &Exporters, user: UserId, id: i64) -> anyhow::Result<()> {
    let connection = store
        .connection_for_user(user, id)
        .await?
        .context("the connection is gone")?;
    let outcome = async {
        let secret = exporters.open(&connection.sealed_secret, user.0)?;
        let publisher = exporters.connect(
            vidpress_worker::export::site_kind(connection.kind),
            &connection.url,
            connection.username.as_deref(),
            &secret,
        )?;
        anyhow::Ok(publisher.test().await?)
    }
    .await;
    match outcome {
        Ok(message) => {
            store
                .record_connection_test(user, id, true, &message)
                .await?;
            println!("`{}`: {message}", connection.name);
            Ok(())
        }
        Err(e) => {
            let message = format!("{e:#}");
            store
                .record_connection_test(user, id, false, &message)
                .await?;
            bail!("connection `{}` does not work: {message}", connection.name)
        }
    }
}

/// Runs `vidpress export`.
pub async fn export(config: &Config, args: &ExportArgs) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let user = owner(config, &store).await?;
    let video = store
        .video_for_user(user, VideoKey(args.video))
        .await?
        .with_context(|| format!("no video {}", args.video))?;
    let stored = store.draft_for_video(video.id).await?.with_context(|| {
        format!(
            "video {} has no draft yet (it is {})",
            args.video,
            video.state.as_str()
        )
    })?;
    let draft = store
        .draft_for_user(user, stored.id)
        .await?
        .context("the draft is gone")?;
    if let Some(name) = &args.to {
        let at = args
            .at
            .as_deref()
            .map(PostStatus::parse_time)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        let default = if at.is_some() { "schedule" } else { "draft" };
        let status = PostStatus::with_time(args.status.as_deref().unwrap_or(default), at)
            .and_then(|s| s.check_ahead_of(time::OffsetDateTime::now_utc()))
            .map_err(anyhow::Error::msg)?;
        let connection = store
            .connection_by_name(user, name)
            .await?
            .with_context(|| {
                format!("no connection named `{name}`; see `vidpress connections list`")
            })?;
        let export_id = match store
            .request_export(
                user,
                draft.id,
                connection.id,
                status.as_str(),
                status.publish_at_ms(),
                config.job_max_attempts,
            )
            .await?
        {
            ExportRequest::Queued { export_id, .. } => export_id,
            ExportRequest::AlreadyRunning { .. } => bail!(
                "this draft is already being exported to `{name}`; wait for that export to finish"
            ),
        };
        // The job is durable: a running server's workers may take it too. Here a pool that runs
        // only export jobs works the queue until this export is done, retries included.
        let mut registry = Registry::new();
        ExportJobs::new(exporters(config)?).register(&mut registry);
        let pool = WorkerPool::new(store.clone(), registry, pool_config(config, 1));
        loop {
            pool.run_until_idle().await;
            let export = store
                .export(export_id)
                .await?
                .context("the export record is gone")?;
            match export.state {
                ExportState::Succeeded => {
                    let how = match status.publish_at() {
                        Some(at) => format!("scheduled for {}", vidpress_publish::format_utc(at)),
                        None => status.as_str().to_owned(),
                    };
                    println!(
                        "exported “{}” to `{name}` ({how}): {}",
                        draft.title,
                        export.remote_url.unwrap_or_default()
                    );
                    if let Some(note) = export.message {
                        println!("note: {note}");
                    }
                    return Ok(());
                }
                ExportState::Failed => bail!(
                    "the export to `{name}` failed: {}",
                    export.message.unwrap_or_default()
                ),
                ExportState::Queued | ExportState::Running => {
                    // Waiting for a retry's time (or another worker): say why, then wait for it.
                    let next = store.next_run_at(&[vidpress_core::JobKind::Export]).await?;
                    if let Some(message) = &export.message {
                        eprintln!("{message}");
                    }
                    let wait = next
                        .map(|at| (at - vidpress_store::now_ms()).max(200))
                        .unwrap_or(500);
                    tokio::time::sleep(Duration::from_millis(wait.min(60_000) as u64)).await;
                }
            }
        }
    }
    if args.format.is_empty() {
        bail!("say where to: --to CONNECTION, or --format markdown|html|srt|vtt --out DIR");
    }
    let out = args.out.as_deref().context("--format needs --out DIR")?;
    std::fs::create_dir_all(out).with_context(|| format!("Failed to create {}", out.display()))?;
    let transcript = match store.transcript(video.id).await? {
        Some(stored) => Some(
            serde_json::from_str::<vidpress_core::Transcript>(&stored.body)
                .context("the stored transcript is unreadable")?,
        ),
        None => None,
    };
    let image = copy_image(draft.header_image.as_deref(), out, &draft.slug)?;
    let date = rfc3339(draft.updated_at);
    let file_draft = FileDraft {
        title: &draft.title,
        slug: &draft.slug,
        description: &draft.description,
        tags: &draft.tags,
        date: &date,
        markdown: &draft.markdown,
        html: &draft.html,
        image: image.as_deref(),
    };
    for format in &args.format {
        let format = FileFormat::parse(format).map_err(anyhow::Error::msg)?;
        let text = vidpress_publish::files::render(format, &file_draft, transcript.as_ref())?;
        let path = out.join(format!("{}.{}", draft.slug, format.extension()));
        std::fs::write(&path, text)
            .with_context(|| format!("Failed to write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Copies the header image beside the exported files; answers its file name.
fn copy_image(image: Option<&str>, out: &Path, slug: &str) -> anyhow::Result<Option<String>> {
    let Some(source) = image.map(Path::new).filter(|p| p.is_file()) else {
        return Ok(None);
    };
    let extension = source.extension().and_then(|e| e.to_str()).unwrap_or("png");
    let name = format!("{slug}.{extension}");
    std::fs::copy(source, out.join(&name))
        .with_context(|| format!("Failed to copy the header image {}", source.display()))?;
    Ok(Some(name))
}

/// Epoch milliseconds as RFC 3339 (UTC, whole seconds).
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(vidpress_publish::format_utc)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}
