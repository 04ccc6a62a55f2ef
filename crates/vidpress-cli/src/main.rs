//! The `vidpress` command: runs the server and workers, applies migrations, and (as later work
//! lands) manages models, channels and conversions. The only crate that reads the environment.

mod commands;
mod config;
mod telemetry;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

/// Vidpress turns YouTube videos into blog post drafts, on your own machine.
#[derive(Debug, Parser)]
#[command(name = "vidpress", version, about, long_about = None)]
struct Cli {
    /// Configuration file (TOML). Default: ./vidpress.toml when it exists.
    #[arg(long, global = true, env = "VIDPRESS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server with an embedded worker pool (the one-machine setup).
    Serve(commands::serve::ServeArgs),
    /// Run a worker pool only, against a shared PostgreSQL database (the scale-out setup).
    Worker(commands::serve::WorkerArgs),
    /// List the worker processes: state (running, stopped, gone), last seen, device, kinds and
    /// the jobs each holds.
    Workers(commands::workers::WorkersArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Measure the job queue's throughput on SQLite and PostgreSQL.
    Bench(commands::bench::BenchArgs),
    /// Link, list and unlink YouTube channels whose uploads become drafts.
    #[command(subcommand)]
    Channels(commands::channels::ChannelsCommand),
    /// Install, import and list Whisper models.
    #[command(subcommand)]
    Models(commands::models::ModelsCommand),
    /// Transcribe a media file or video URL into NAME.json, NAME.srt and NAME.vtt.
    Transcribe(commands::transcribe::TranscribeArgs),
    /// Turn a media file or video URL into a draft post: post.md, post.html and draft.json.
    Convert(commands::convert::ConvertArgs),
    /// Create dashboard accounts and reset their passwords.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Add, list, test and remove WordPress and Ghost connections.
    #[command(subcommand)]
    Connections(commands::export::ConnectionsCommand),
    /// Send a video's draft to a connection, or write it as Markdown, HTML, SRT or VTT files.
    Export(commands::export::ExportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve::serve(&config, &args).await,
            Command::Worker(args) => commands::serve::worker(&config, &args).await,
            Command::Workers(args) => commands::workers::run(&config, &args).await,
            Command::Migrate => commands::serve::migrate(&config).await,
            Command::Bench(args) => commands::bench::run(&config, &args).await,
            Command::Channels(cmd) => commands::channels::run(&config, &cmd).await,
            Command::Models(cmd) => commands::models::run(&config.models_dir, cmd).await,
            Command::Convert(args) => commands::convert::run(&config, &args).await,
            Command::Transcribe(args) => commands::transcribe::run(&config, &args).await,
            Command::User(cmd) => commands::user::run(&config, &cmd).await,
            Command::Connections(cmd) => commands::export::connections(&config, &cmd).await,
            Command::Export(args) => commands::export::export(&config, &args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
