//! Faults with real processes on PostgreSQL: a worker SIGKILLed inside each pipeline step, and
//! the database server restarted in the middle of a run. After each, the video must finish
//! exactly once: one job per step, one transcript, one draft, no scratch left behind.
//!
//! A worker is killed at the worst moment of a step: its work is done and its transaction is
//! open, waiting to store the output. A trigger on the table the step writes makes the step's
//! statement wait for an advisory lock this test holds, so the kill lands inside the step every
//! time, whatever the machine's speed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection, Row};
use support::{Api, FileServer, Instance, Proc, eventually, signal};
use vidpress_store::testing::TestDb;

/// The advisory lock the gate trigger waits for.
const GATE: i64 = 715_015;

/// Where each step's gate sits: the statement that stores the step's output.
fn gate_trigger(step: &str) -> &'static str {
    match step {
        // The fetch step stores where the media lies.
        "fetch" => {
            "CREATE TRIGGER gate BEFORE UPDATE ON videos FOR EACH ROW \
             WHEN (NEW.media_path IS DISTINCT FROM OLD.media_path) EXECUTE FUNCTION gate()"
        }
        "transcribe" => {
            "CREATE TRIGGER gate BEFORE INSERT ON transcripts FOR EACH ROW EXECUTE FUNCTION gate()"
        }
        "draft" => {
            "CREATE TRIGGER gate BEFORE INSERT ON drafts FOR EACH ROW EXECUTE FUNCTION gate()"
        }
        // The illustrate step marks the video ready.
        "illustrate" => {
            "CREATE TRIGGER gate BEFORE UPDATE ON videos FOR EACH ROW \
             WHEN (NEW.state = 'ready' AND OLD.state IS DISTINCT FROM 'ready') EXECUTE FUNCTION gate()"
        }
        other => panic!("no step {other}"),
    }
}

fn jobs<'a>(status: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    status["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == kind)
        .collect()
}

async fn count(conn: &mut PgConnection, table: &str, video: i64) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) AS n FROM {table} WHERE video_id = $1"
    )))
    .bind(video)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
    .get("n")
}

/// Processes still running whose command line names `dir` (a yt-dlp left behind by a dead
/// worker would).
fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(&needle) && !cmdline.contains("nextest") {
                found.push(cmdline);
            }
        }
    }
    found
}

/// Kills a worker while `step` waits to store its output, starts another, and checks that the
/// video finishes exactly once.
async fn a_worker_killed_during(step: &str) {
    let media = support::media("speech.webm");
    let host = FileServer::start(media.parent().unwrap()).await;
    let db = TestDb::postgres().await;
    let mut sql = PgConnection::connect(&db.url).await.unwrap();
    sql.execute(
        "CREATE FUNCTION gate() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN PERFORM pg_advisory_xact_lock(715015); RETURN NEW; END $$",
    )
    .await
    .unwrap();
    sql.execute(gate_trigger(step)).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(GATE)
        .execute(&mut sql)
        .await
        .unwrap();

    let mut vp = Instance::new();
    vp.database_url = db.url.clone();
    let web = vp.start(&["serve", "--no-workers"], &[]).await;
    let api = Api::new(&vp.base());
    let short_lease = [("VIDPRESS_JOB_LEASE_SECONDS", "3")];
    let mut first = vp.start(&["worker"], &short_lease).await;
    let id = api.submit_url(&host.url("speech.webm")).await;

    // The step's work is done and its statement waits at the gate.
    let waiting = "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    eventually(
        &format!("the {step} step waiting to store its output"),
        Duration::from_secs(300),
        || {
            let url = db.url.clone();
            async move {
                let mut conn = PgConnection::connect(&url).await.ok()?;
                let n: i64 = sqlx::query(waiting)
                    .fetch_one(&mut conn)
                    .await
                    .ok()?
                    .get("n");
                (n > 0).then_some(())
            }
        },
    )
    .await;
    let status = api.status(id).await;
    let running = jobs(&status, step);
    assert_eq!(running.len(), 1, "{status:#}");
    assert_eq!(running[0]["state"], "running", "{status:#}");

    signal(&first, "-KILL");
    first.0.wait().unwrap();
    // Nothing the dead worker started lives on (yt-dlp runs in a process group of its own).
    let stray = processes_naming(vp.dir.path());
    let stray: Vec<_> = stray.iter().filter(|c| !c.contains(" serve")).collect();
    assert!(
        stray.is_empty(),
        "left running after the worker died: {stray:?}"
    );
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(GATE)
        .execute(&mut sql)
        .await
        .unwrap();

    let second: Proc = vp.start(&["worker"], &short_lease).await;
    let status = api.wait_until_finished(id).await;
    assert_eq!(status["state"], "ready", "{status:#}");
    for kind in ["fetch", "transcribe", "draft", "illustrate"] {
        let found = jobs(&status, kind);
        assert_eq!(found.len(), 1, "one {kind} job: {status:#}");
        assert_eq!(found[0]["state"], "succeeded", "{status:#}");
        let attempts = if kind == step { 2 } else { 1 };
        assert_eq!(
            found[0]["attempts"], attempts,
            "the {kind} step ran {attempts} time(s): {status:#}"
        );
    }
    assert_eq!(
        count(&mut sql, "transcripts", id).await,
        1,
        "one transcript"
    );
    assert_eq!(count(&mut sql, "drafts", id).await, 1, "one draft");
    let markdown = status["draft"]["markdown"].as_str().expect("a draft");
    assert!(
        support::recall(&support::script_words(), markdown) >= 0.85,
        "the draft holds the script's words: {markdown}"
    );
    assert!(
        vp.scratch_entries().is_empty(),
        "scratch left behind: {:?}",
        vp.scratch_entries()
    );
    signal(&second, "-TERM");
    signal(&web, "-TERM");
}

#[tokio::test]
async fn a_worker_killed_while_fetching_is_replaced_and_the_video_finishes_once() {
    a_worker_killed_during("fetch").await;
}

#[tokio::test]
async fn a_worker_killed_while_transcribing_is_replaced_and_the_video_finishes_once() {
    a_worker_killed_during("transcribe").await;
}

#[tokio::test]
async fn a_worker_killed_while_drafting_is_replaced_and_the_video_finishes_once() {
    a_worker_killed_during("draft").await;
}

#[tokio::test]
async fn a_worker_killed_while_illustrating_is_replaced_and_the_video_finishes_once() {
    a_worker_killed_during("illustrate").await;
}

/// A PostgreSQL server of this test's own (initdb on a free port), so restarting it disturbs no
/// other test.
struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
}

impl PrivatePostgres {
    fn start() -> PrivatePostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect(
                "PostgreSQL's server programs under /usr/lib/postgresql (apt install postgresql)",
            )
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("initdb under /usr/lib/postgresql/*/bin");
        let dir =
            std::env::temp_dir().join(format!("vidpress-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        // The server refuses to run as root: then it runs as the `postgres` user.
        let as_postgres = run_output("id", &["-u"]).trim() == "0";
        if as_postgres {
            let uid: u32 = run_output("id", &["-u", "postgres"])
                .trim()
                .parse()
                .unwrap();
            let gid: u32 = run_output("id", &["-g", "postgres"])
                .trim()
                .parse()
                .unwrap();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let pg = PrivatePostgres {
            dir,
            port: support::free_port(),
            bin,
            as_postgres,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            pg.port,
            pg.dir.display()
        );
        let log = pg.dir.join("log").to_string_lossy().into_owned();
        pg.run(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        );
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the server, ending every connection, and starts it again.
    fn restart(&self) {
        let data = self.data();
        // With its log file named again: without one, the new server would keep pg_ctl's
        // output pipes open and this call would wait for them for ever.
        let log = self.dir.join("log").to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-m", "fast", "-w", "restart"],
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let program = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run_output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The video's status, or `None` while the server cannot answer (the database is restarting).
async fn status_now(api: &Api, id: i64) -> Option<serde_json::Value> {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/videos/{id}", api.base))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .ok()?;
    if resp.status() != 200 {
        return None;
    }
    resp.json().await.ok()
}

#[tokio::test]
async fn a_database_restart_mid_run_loses_and_duplicates_nothing() {
    let pg = PrivatePostgres::start();
    let media = support::media("speech.webm");
    let host = FileServer::start(media.parent().unwrap()).await;
    let mut vp = Instance::new();
    vp.database_url = pg.url();
    let server = vp
        .start(&["serve"], &[("VIDPRESS_JOB_LEASE_SECONDS", "10")])
        .await;
    let api = Api::new(&vp.base());
    let id = api.submit_url(&host.url("speech.webm")).await;
    api.wait_for(id, "transcription under way", |s| {
        jobs(s, "transcribe")
            .first()
            .is_some_and(|j| j["state"] == "running" && j["progress"].as_u64() > Some(10))
    })
    .await;

    pg.restart();

    let status = eventually(
        "the video finished after the restart",
        Duration::from_secs(600),
        || async {
            status_now(&api, id)
                .await
                .filter(|s| matches!(s["state"].as_str(), Some("ready" | "failed" | "cancelled")))
        },
    )
    .await;
    assert_eq!(status["state"], "ready", "{status:#}");
    for kind in ["fetch", "transcribe", "draft", "illustrate"] {
        let found = jobs(&status, kind);
        assert_eq!(found.len(), 1, "one {kind} job: {status:#}");
        assert_eq!(found[0]["state"], "succeeded", "{status:#}");
    }
    let mut sql = PgConnection::connect(&pg.url()).await.unwrap();
    assert_eq!(
        count(&mut sql, "transcripts", id).await,
        1,
        "one transcript"
    );
    assert_eq!(count(&mut sql, "drafts", id).await, 1, "one draft");
    assert!(
        vp.scratch_entries().is_empty(),
        "scratch left behind: {:?}",
        vp.scratch_entries()
    );
    // The server answers again without being restarted itself.
    let ready = reqwest::get(format!("{}/readyz", vp.base())).await.unwrap();
    assert_eq!(ready.status(), 200);
    signal(&server, "-TERM");
}
