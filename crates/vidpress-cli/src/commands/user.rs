//! `vidpress user add EMAIL` and `vidpress user reset-password EMAIL`: dashboard accounts for
//! operators. The password is read from standard input (one line), or asked for twice without
//! echo on a terminal; it never appears in the process list or the shell history.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use vidpress_store::AccountError;

use crate::commands::serve::open_store;
use crate::config::Config;

/// What to do with accounts.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create a dashboard account. The password is read from standard input.
    Add {
        /// The account's email.
        email: String,
    },
    /// Set a new password for an account and end its sessions. The password is read from
    /// standard input.
    ResetPassword {
        /// The account's email.
        email: String,
    },
}

/// Runs a `user` subcommand.
pub async fn run(config: &Config, command: &UserCommand) -> anyhow::Result<()> {
    let (UserCommand::Add { email } | UserCommand::ResetPassword { email }) = command;
    let email = vidpress_web::valid_email(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = read_password()?;
    vidpress_web::valid_password(&password)
        .map_err(|e| anyhow::anyhow!("the password is not accepted: {e}"))?;
    let hash = tokio::task::spawn_blocking(move || vidpress_web::hash_password(&password))
        .await?
        .map_err(|e| anyhow::anyhow!(e))?;
    let store = open_store(config).await?;
    let result = match command {
        UserCommand::Add { .. } => match store
            .create_user(&email, &hash)
            .await
            .context("Failed to create the account")?
        {
            Ok(user) => {
                println!("created {} (account {})", user.email, user.id.0);
                Ok(())
            }
            Err(AccountError::EmailTaken | AccountError::AlreadySetUp) => Err(anyhow::anyhow!(
                "{email} already has an account; use `vidpress user reset-password {email}`"
            )),
        },
        UserCommand::ResetPassword { .. } => {
            if store
                .set_password(&email, &hash)
                .await
                .context("Failed to set the password")?
            {
                println!("password of {email} changed; its sessions are ended");
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "no account {email}; create it with `vidpress user add {email}`"
                ))
            }
        }
    };
    store.close().await;
    result
}

/// One line from standard input; on a terminal, asked twice with echo off.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("Failed to read the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            bail!("no password on standard input (give it as one line)");
        }
        return Ok(password);
    }
    let first = prompt("Password: ")?;
    let second = prompt("Password again: ")?;
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(first)
}

fn prompt(label: &str) -> anyhow::Result<String> {
    eprint!("{label}");
    std::io::stderr().flush()?;
    let echo = |on: bool| {
        let _ = std::process::Command::new("stty")
            .arg(if on { "echo" } else { "-echo" })
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    echo(false);
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    echo(true);
    eprintln!();
    read.context("Failed to read the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
