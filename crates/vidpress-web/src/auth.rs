//! Who is signed in: Argon2id password hashes, the signed-in user taken from the session, and
//! the limit on failed sign-ins per account and per address.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;
use vidpress_store::{User, UserId};

use crate::AppState;
use crate::sessions::{LOADED_USER_KEY, USER_KEY};
use crate::views::error_page;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (hashing cost grows with it).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Hashes a password with Argon2id (a random salt, the crate's recommended cost).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash: PasswordHash| hash.to_string())
        .map_err(|e| format!("could not hash the password: {e}"))
}

/// Whether `password` matches the stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Why a password is not acceptable, in words for the form.
pub fn valid_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(format!(
            "Use at least {MIN_PASSWORD_CHARS} characters (this one has {chars})."
        ))
    } else if chars > MAX_PASSWORD_CHARS {
        Err(format!("Use at most {MAX_PASSWORD_CHARS} characters."))
    } else {
        Ok(())
    }
}

/// The email, trimmed and lower-cased, or why it is not an email address.
pub fn valid_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(email)
    } else {
        Err("Enter an email address, like name@example.org.".into())
    }
}

/// The session key holding the day (since the epoch) the session was last used.
const DAY_KEY: &str = "day";

/// The signed-in user of a dashboard request. Without one, pages redirect to sign-in (or to the
/// first-run setup on a fresh install) and scripts' requests get 401.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub session: Session,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let id = session
            .get::<i64>(USER_KEY)
            .await
            .map_err(|e| internal(&e))?;
        if let Some(id) = id {
            // The account came with the session's row; the query is for a session whose user
            // changed during this request.
            let loaded = session
                .get::<User>(LOADED_USER_KEY)
                .await
                .ok()
                .flatten()
                .filter(|u| u.id == UserId(id));
            let user = match loaded {
                Some(user) => Ok(Some(user)),
                None => state.store.user(UserId(id)).await,
            };
            match user {
                Ok(Some(user)) if user.has_password => {
                    // Reading a session does not extend it: a change does. Mark the day it was
                    // last used (one write a day), so people in daily use stay signed in.
                    let today = vidpress_store::now_ms() / 86_400_000;
                    if session.get::<i64>(DAY_KEY).await.ok().flatten() != Some(today) {
                        session
                            .insert(DAY_KEY, today)
                            .await
                            .map_err(|e| internal(&e))?;
                    }
                    return Ok(CurrentUser { user, session });
                }
                Ok(_) => {}
                Err(e) => return Err(internal(&e)),
            }
        }
        if parts.headers.contains_key("x-partial") || parts.uri.path().ends_with("/live") {
            return Err((StatusCode::UNAUTHORIZED, "sign in first").into_response());
        }
        match state.store.needs_first_account().await {
            Ok(true) => Err(Redirect::to("/setup").into_response()),
            Ok(false) => Err(Redirect::to("/sign-in").into_response()),
            Err(e) => Err(internal(&e)),
        }
    }
}

fn internal(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "could not read the session");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request. Try again in a moment.",
    )
}

/// The client's address, when the server knows it.
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Failed sign-ins allowed per account within [`WINDOW`].
pub const ACCOUNT_LIMIT: usize = 5;
/// Failed sign-ins allowed per address within [`WINDOW`].
pub const ADDRESS_LIMIT: usize = 20;
/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Counts failed sign-ins per account and per client address in this process; past the limit,
/// further attempts are refused without checking the password until the window has passed.
#[derive(Debug, Clone, Default)]
pub struct SignInLimiter {
    failures: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl SignInLimiter {
    fn keys(email: &str, address: &str) -> [(String, usize); 2] {
        [
            (format!("account:{email}"), ACCOUNT_LIMIT),
            (format!("address:{address}"), ADDRESS_LIMIT),
        ]
    }

    /// How long until another attempt is allowed; `None` when it is allowed now.
    pub fn blocked_for(&self, email: &str, address: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = None;
        for (key, limit) in Self::keys(email, address) {
            if let Some(times) = failures.get_mut(&key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > WINDOW)
                {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let until = times[times.len() - limit] + WINDOW;
                    let left = until.saturating_duration_since(now);
                    wait = Some(wait.map_or(left, |w: Duration| w.max(left)));
                }
            }
        }
        wait
    }

    /// Records a failed attempt.
    pub fn failed(&self, email: &str, address: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            // Bounded memory under a flood of distinct names: forget the oldest evidence.
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        for (key, _) in Self::keys(email, address) {
            failures.entry(key).or_default().push_back(now);
        }
    }

    /// Forgets an account's failures after it signs in.
    pub fn succeeded(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&format!("account:{email}"));
    }
}

/// Signs `user` in on this session under a new session id (no fixation), with a new CSRF token.
pub async fn sign_in(
    session: &Session,
    user: UserId,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.clear().await;
    session.insert(USER_KEY, user.0).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_limiter_blocks_after_the_limit() {
        let limiter = SignInLimiter::default();
        for _ in 0..ACCOUNT_LIMIT {
            assert!(limiter.blocked_for("a@b", "1.2.3.4").is_none());
            limiter.failed("a@b", "1.2.3.4");
        }
        assert!(limiter.blocked_for("a@b", "5.6.7.8").is_some());
        assert!(limiter.blocked_for("c@d", "1.2.3.4").is_none());
        limiter.succeeded("a@b");
        assert!(limiter.blocked_for("a@b", "5.6.7.8").is_none());
    }

    #[test]
    fn emails_are_checked_and_normalised() {
        assert_eq!(
            valid_email("  Ann@Example.org ").unwrap(),
            "ann@example.org"
        );
        assert!(valid_email("ann").is_err());
        assert!(valid_email("@x").is_err());
        assert!(valid_email("a b@x").is_err());
    }
}
