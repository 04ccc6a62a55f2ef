//! The machine's cores, shared between the transcriptions of every Vidpress process on it.
//!
//! whisper.cpp's threads spin at every barrier, so two transcriptions that each run a thread per
//! core (two worker processes, the server beside a `vidpress transcribe`) do not share the cores
//! but stall each other: on 2 cores, two 20-second clips at once took six minutes instead of a
//! minute. Each core is a lock file in a folder of the temporary directory; a transcription
//! holds one lock per thread it runs. It takes the free ones, and when none is free it waits,
//! saying so, until a holder gives one up: a holder looks for waiters before each stretch of
//! audio and then keeps one core fewer (never none). Advisory locks end with their process, so a
//! crash frees its cores.
//!
//! Where the folder cannot be used (a read-only temporary directory), transcriptions run
//! uncoordinated, as many threads as asked.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a waiting transcription tries again.
const POLL: Duration = Duration::from_millis(20);

/// The lock files of one machine's cores.
#[derive(Debug, Clone)]
pub struct Cores {
    dir: PathBuf,
    count: usize,
}

impl Cores {
    /// The cores this process may use, in `vidpress-cores` under the temporary directory.
    pub fn machine() -> Self {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        Cores::at(std::env::temp_dir().join("vidpress-cores"), count)
    }

    /// `count` cores whose lock files live in `dir`.
    pub fn at(dir: impl Into<PathBuf>, count: usize) -> Self {
        Cores {
            dir: dir.into(),
            count: count.max(1),
        }
    }

    /// Takes up to `want` free cores (at least one), waiting while none is free until `stop`
    /// says to give up (then the lease holds nothing and offers one thread).
    pub fn lease(&self, want: usize, stop: impl Fn() -> bool) -> Lease {
        let want = want.clamp(1, self.count);
        let mut lease = Lease {
            cores: self.clone(),
            held: Vec::new(),
            uncoordinated: 0,
        };
        if let Err(e) = std::fs::create_dir_all(&self.dir) {
            tracing::debug!(dir = %self.dir.display(), error = %e, "core locks unavailable");
            lease.uncoordinated = want;
            return lease;
        }
        share_folder(&self.dir);
        let mut waiting: Option<File> = None;
        loop {
            match lease.take(want) {
                Ok(()) if !lease.held.is_empty() => return lease,
                Ok(()) => {}
                Err(e) => {
                    tracing::debug!(dir = %self.dir.display(), error = %e, "core locks unavailable");
                    lease.held.clear();
                    lease.uncoordinated = want;
                    return lease;
                }
            }
            if waiting.is_none() {
                tracing::info!("every core is transcribing: waiting for one to be free");
                // A shared lock on `waiting` tells the holders someone waits.
                waiting = match self.open("waiting") {
                    Ok(f) => f.lock_shared().map(|()| f).ok(),
                    Err(_) => None,
                };
            }
            if stop() {
                lease.uncoordinated = 1;
                return lease;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether another transcription is waiting for a core.
    fn someone_waits(&self) -> bool {
        match self.open("waiting").map(|f| f.try_lock()) {
            Ok(Ok(())) => false,
            Ok(Err(TryLockError::WouldBlock)) => true,
            Ok(Err(TryLockError::Error(_))) | Err(_) => false,
        }
    }

    fn open(&self, name: &str) -> std::io::Result<File> {
        open_shared(&self.dir.join(name))
    }
}

/// The cores one transcription holds; dropping it frees them.
#[derive(Debug)]
pub struct Lease {
    cores: Cores,
    held: Vec<File>,
    /// Threads to run without locks (the folder was unusable, or the wait was stopped).
    uncoordinated: usize,
}

impl Lease {
    /// The threads to run: one per core held.
    pub fn threads(&self) -> usize {
        if self.held.is_empty() {
            self.uncoordinated.max(1)
        } else {
            self.held.len()
        }
    }

    /// Between two stretches of audio: gives one core up when another transcription waits for
    /// one, and otherwise takes free cores up to `want`.
    pub fn renew(&mut self, want: usize) {
        if self.held.is_empty() {
            return;
        }
        if self.cores.someone_waits() {
            if self.held.len() > 1 {
                self.held.pop();
                tracing::debug!(
                    threads = self.held.len(),
                    "a core given up to a waiting transcription"
                );
            }
            return;
        }
        let want = want.clamp(1, self.cores.count);
        if want < self.held.len() {
            self.held.truncate(want);
        } else if let Err(e) = self.take(want) {
            tracing::debug!(error = %e, "no more cores taken");
        }
    }

    /// Locks free cores until `want` are held.
    fn take(&mut self, want: usize) -> std::io::Result<()> {
        let mut i = 0;
        while self.held.len() < want && i < self.cores.count {
            let file = self.cores.open(&format!("core-{i}"))?;
            i += 1;
            match file.try_lock() {
                Ok(()) => self.held.push(file),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Opens (creating) a lock file every user of the machine can lock.
fn open_shared(path: &Path) -> std::io::Result<File> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
    {
        Ok(f) => {
            set_mode(path, 0o666);
            Ok(f)
        }
        // Made by another user: locking needs no write access.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => File::open(path),
        Err(e) => Err(e),
    }
}

fn share_folder(dir: &Path) {
    set_mode(dir, 0o1777);
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    // Only the owner may change it; for everyone else it is already set.
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    #[test]
    fn a_lease_takes_the_free_cores() {
        let dir = tempfile::tempdir().unwrap();
        let cores = Cores::at(dir.path(), 4);
        let a = cores.lease(3, || false);
        assert_eq!(a.threads(), 3);
        let b = cores.lease(3, || false);
        assert_eq!(b.threads(), 1, "one core was left");
        drop(a);
        let c = cores.lease(8, || false);
        assert_eq!(
            c.threads(),
            3,
            "the three cores freed, never more than the machine has"
        );
    }

    #[test]
    fn a_holder_gives_a_core_to_a_waiting_transcription() {
        let dir = tempfile::tempdir().unwrap();
        let cores = Cores::at(dir.path(), 2);
        let mut a = cores.lease(2, || false);
        assert_eq!(a.threads(), 2);
        let got = Arc::new(AtomicUsize::new(0));
        let waiter = {
            let (cores, got) = (cores.clone(), got.clone());
            std::thread::spawn(move || {
                let b = cores.lease(2, || false);
                got.store(b.threads(), Ordering::SeqCst);
                b
            })
        };
        // Until the holder looks (between its stretches), the other waits.
        std::thread::sleep(POLL * 5);
        assert_eq!(got.load(Ordering::SeqCst), 0, "no core was free yet");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while got.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
            a.renew(2);
            std::thread::sleep(POLL);
        }
        let b = waiter.join().unwrap();
        assert_eq!(b.threads(), 1, "the waiting transcription got a core");
        assert_eq!(a.threads(), 1, "the holder kept one");
        // Nobody waits now: the holder does not give up its last core, and takes none back
        // while the other holds it.
        a.renew(2);
        assert_eq!(a.threads(), 1);
        drop(b);
        a.renew(2);
        assert_eq!(a.threads(), 2, "the freed core is taken back");
    }

    #[test]
    fn a_stopped_wait_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let cores = Cores::at(dir.path(), 1);
        let _a = cores.lease(1, || false);
        let stop = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (cores, stop) = (cores.clone(), stop.clone());
            std::thread::spawn(move || cores.lease(1, || stop.load(Ordering::SeqCst)).held.len())
        };
        std::thread::sleep(POLL * 3);
        stop.store(true, Ordering::SeqCst);
        assert_eq!(waiter.join().unwrap(), 0, "the stopped wait holds no core");
    }

    #[test]
    fn an_unusable_folder_runs_uncoordinated() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        let lease = Cores::at(file.join("cores"), 2).lease(2, || false);
        assert_eq!(lease.threads(), 2);
    }
}
