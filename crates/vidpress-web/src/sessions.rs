//! tower-sessions' `SessionStore` over the Vidpress database, so sessions survive restarts and
//! any web node answers any request. Rows are keyed by a SHA-256 of the session id: the table
//! alone opens no session. The signed-in user is stored beside the data so a password reset can
//! end all of that user's sessions.

use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use vidpress_store::{Store, UserId};

/// The session key holding the signed-in user's id.
pub const USER_KEY: &str = "user";

/// Where [`DbSessionStore::load`] leaves the account the session's row names, read in the same
/// query as the session: the signed-in check then costs no query of its own. Never stored
/// ([`encode`] drops it), and only trusted when its id is [`USER_KEY`]'s.
pub const LOADED_USER_KEY: &str = "loaded-user";

/// Sessions in the database.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    store: Store,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        DbSessionStore { store }
    }
}

fn key(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn encode(record: &Record) -> session_store::Result<(Option<UserId>, String, i64)> {
    let stored: std::collections::BTreeMap<&String, &serde_json::Value> = record
        .data
        .iter()
        .filter(|(k, _)| *k != LOADED_USER_KEY)
        .collect();
    let data =
        serde_json::to_string(&stored).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let user = record
        .data
        .get(USER_KEY)
        .and_then(serde_json::Value::as_i64)
        .map(UserId);
    let expires =
        i64::try_from(record.expiry_date.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    Ok((user, data, expires))
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let (user, data, expires) = encode(record)?;
        // A new id on the (astronomically unlikely) collision.
        while !self
            .store
            .create_session(&key(&record.id), user, &data, expires)
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (user, data, expires) = encode(record)?;
        self.store
            .save_session(&key(&record.id), user, &data, expires)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(stored) = self.store.load_session(&key(id)).await.map_err(backend)? else {
            return Ok(None);
        };
        let mut data: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_str(&stored.data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        data.remove(LOADED_USER_KEY);
        if let Some(user) = stored.user {
            let user = serde_json::to_value(user)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
            data.insert(LOADED_USER_KEY.to_owned(), user);
        }
        let expiry_date = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(stored.expires_at) * 1_000_000,
        )
        .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete_session(&key(id)).await.map_err(backend)
    }
}
