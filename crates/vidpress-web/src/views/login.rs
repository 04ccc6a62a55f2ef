//! First run, sign in, sign up (when the admin allows it) and sign out.

use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;
use vidpress_store::AccountError;

use super::{Layout, PageError, PageResult, error_page, flash, render, render_with};
use crate::AppState;
use crate::auth;
use crate::sessions::USER_KEY;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/setup", get(setup_page).post(setup))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-up", get(sign_up_page).post(sign_up))
        .route("/sign-out", post(sign_out))
}

/// The client's address, for the sign-in limit.
struct ClientAddress(String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(auth::client_address(parts)))
    }
}

/// `/`: the videos when signed in, else sign-in (or the first-run setup).
async fn home(State(state): State<AppState>, session: Session) -> PageResult {
    if session.get::<i64>(USER_KEY).await?.is_some() {
        return Ok(Redirect::to("/videos").into_response());
    }
    if state.store.needs_first_account().await? {
        Ok(Redirect::to("/setup").into_response())
    } else {
        Ok(Redirect::to("/sign-in").into_response())
    }
}

/// Errors beside the fields of an account form.
#[derive(Debug, Default)]
struct AccountErrors {
    email: Option<String>,
    password: Option<String>,
    confirm: Option<String>,
    form: Option<String>,
}

impl AccountErrors {
    fn any(&self) -> bool {
        self.email.is_some()
            || self.password.is_some()
            || self.confirm.is_some()
            || self.form.is_some()
    }
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    email: String,
    errors: AccountErrors,
}

#[derive(Debug, Deserialize)]
struct AccountForm {
    email: String,
    password: String,
    #[serde(default)]
    confirm: String,
}

fn check_account(form: &AccountForm) -> (String, AccountErrors) {
    let mut errors = AccountErrors::default();
    let email = match auth::valid_email(&form.email) {
        Ok(email) => email,
        Err(e) => {
            errors.email = Some(e);
            form.email.trim().to_owned()
        }
    };
    if let Err(e) = auth::valid_password(&form.password) {
        errors.password = Some(e);
    } else if form.password != form.confirm {
        errors.confirm = Some("The two passwords differ.".into());
    }
    (email, errors)
}

async fn hash(password: String) -> Result<String, PageError> {
    tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| crate::AppError::Internal(e.to_string()))?
        .map_err(|e| PageError::from(crate::AppError::Internal(e)))
}

async fn setup_page(State(state): State<AppState>, session: Session) -> PageResult {
    if !state.store.needs_first_account().await? {
        return Ok(Redirect::to("/sign-in").into_response());
    }
    Ok(render(&SetupPage {
        layout: Layout::anonymous(&session, "Create the first account").await?,
        email: state.dashboard.owner_email.clone(),
        errors: AccountErrors::default(),
    }))
}

/// Creates the admin: the operator account the command line already acts for gets this email
/// and password, so anything linked or converted from the command line is already there.
async fn setup(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<AccountForm>,
) -> PageResult {
    if !state.store.needs_first_account().await? {
        return Ok(Redirect::to("/sign-in").into_response());
    }
    let (email, mut errors) = check_account(&form);
    if !errors.any() {
        let hashed = hash(form.password).await?;
        match state
            .store
            .create_first_account(&state.dashboard.owner_email, &email, &hashed)
            .await?
        {
            Ok(user) => {
                auth::sign_in(&session, user.id).await?;
                flash(
                    &session,
                    "ok",
                    "Your account is ready. Link a YouTube channel, or paste a video URL below.",
                )
                .await;
                return Ok(Redirect::to("/videos").into_response());
            }
            Err(AccountError::EmailTaken) => {
                errors.email = Some("Another account has this email.".into())
            }
            Err(AccountError::AlreadySetUp) => return Ok(Redirect::to("/sign-in").into_response()),
        }
    }
    Ok(render_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SetupPage {
            layout: Layout::anonymous(&session, "Create the first account").await?,
            email,
            errors,
        },
    ))
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    allow_signup: bool,
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    email: String,
    password: String,
}

async fn sign_in_page(State(state): State<AppState>, session: Session) -> PageResult {
    if session.get::<i64>(USER_KEY).await?.is_some() {
        return Ok(Redirect::to("/videos").into_response());
    }
    if state.store.needs_first_account().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    Ok(render(&SignInPage {
        layout: Layout::anonymous(&session, "Sign in").await?,
        email: String::new(),
        error: None,
        allow_signup: state.dashboard.allow_signup,
    }))
}

/// Checks the password (Argon2id, off the async threads); failures count towards the limits
/// per account and per address, and past them nothing is checked until the window passes.
async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    ClientAddress(address): ClientAddress,
    Form(form): Form<SignInForm>,
) -> PageResult {
    let email = form.email.trim().to_lowercase();
    let limiter = &state.dashboard.limiter;
    let refuse = async |status: StatusCode, error: String| -> PageResult {
        Ok(render_with(
            status,
            &SignInPage {
                layout: Layout::anonymous(&session, "Sign in").await?,
                email: email.clone(),
                error: Some(error),
                allow_signup: state.dashboard.allow_signup,
            },
        ))
    };
    if let Some(wait) = limiter.blocked_for(&email, &address) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins for this account or from this address. Try again in \
                 {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            ),
        )
        .await;
    }
    let stored = state.store.password_hash(&email).await?;
    let password = form.password;
    let user = tokio::task::spawn_blocking(move || match stored {
        Some((user, hash)) => auth::verify_password(&password, &hash).then_some(user),
        None => {
            // The same work as a real check, so timing does not tell which emails exist.
            let _ = auth::hash_password(&password);
            None
        }
    })
    .await
    .map_err(|e| crate::AppError::Internal(e.to_string()))?;
    match user {
        Some(user) => {
            limiter.succeeded(&email);
            auth::sign_in(&session, user.id).await?;
            Ok(Redirect::to("/videos").into_response())
        }
        None => {
            limiter.failed(&email, &address);
            tracing::info!(%address, "failed sign-in");
            refuse(
                StatusCode::UNAUTHORIZED,
                "The email or the password is wrong.".into(),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    layout: Layout,
    email: String,
    errors: AccountErrors,
}

fn sign_up_closed() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Sign-up is closed",
        "Ask the administrator of this Vidpress for an account.",
    )
}

async fn sign_up_page(State(state): State<AppState>, session: Session) -> PageResult {
    if !state.dashboard.allow_signup {
        return Ok(sign_up_closed());
    }
    Ok(render(&SignUpPage {
        layout: Layout::anonymous(&session, "Create an account").await?,
        email: String::new(),
        errors: AccountErrors::default(),
    }))
}

async fn sign_up(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<AccountForm>,
) -> PageResult {
    if !state.dashboard.allow_signup {
        return Ok(sign_up_closed());
    }
    if state.store.needs_first_account().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let (email, mut errors) = check_account(&form);
    if !errors.any() {
        if email == state.dashboard.owner_email {
            errors.email = Some("Another account has this email.".into());
        } else {
            let hashed = hash(form.password).await?;
            match state.store.create_user(&email, &hashed).await? {
                Ok(user) => {
                    auth::sign_in(&session, user.id).await?;
                    flash(&session, "ok", "Welcome to Vidpress.").await;
                    return Ok(Redirect::to("/videos").into_response());
                }
                Err(_) => errors.email = Some("Another account has this email.".into()),
            }
        }
    }
    Ok(render_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SignUpPage {
            layout: Layout::anonymous(&session, "Create an account").await?,
            email,
            errors,
        },
    ))
}

/// Ends the session: its row is deleted, so the old cookie opens nothing.
async fn sign_out(session: Session) -> PageResult {
    session.flush().await?;
    Ok(Redirect::to("/sign-in").into_response())
}
