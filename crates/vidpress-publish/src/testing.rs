//! Real WordPress and Ghost sites on 127.0.0.1 for tests and the export benchmark.
//!
//! WordPress: Debian's `wordpress` tree hard-linked into a fresh directory, its own `wp-config.php`
//! on a fresh MariaDB database (127.0.0.1:3306, root without a password), installed by a PHP CLI
//! script with an Application Password, served by PHP's built-in server. A must-use plugin blocks
//! every outgoing HTTP request and all mail. Ghost: the npm package `scripts/export-peers.sh`
//! installed into `~/.cache/vidpress/ghost-5.130.6`, on SQLite in a fresh directory, set up and
//! given an integration through its own Admin API. Both stop (process group and all) and drop
//! their data when the handle is dropped.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use url::Url;

/// The Ghost version the harness runs.
pub const GHOST_VERSION: &str = "5.130.6";
const WORDPRESS_TREE: &str = "/usr/share/wordpress";
const INSTALL_HINT: &str =
    "run `bash scripts/export-peers.sh` (scripts/test.sh does) to install it";

/// The username and the sign-in password of the WordPress test account.
pub const WP_USER: &str = "editor";
pub const WP_PASSWORD: &str = "Correct-Horse-Battery-9";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// A child process started in its own process group; the whole group is stopped on drop.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if matches!(self.0.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.0.wait();
    }
}

/// Polls `ready` every 100 ms until it answers true, up to `limit`; panics with `what` and the
/// log file's tail after that.
async fn wait_until<F, Fut>(what: &str, limit: Duration, log: &Path, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let tail: String = log
        .lines()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    panic!("{what} was not ready within {limit:?}; its log ends:\n{tail}");
}

fn mariadb(sql: &str) -> Result<(), String> {
    let out = Command::new("mariadb")
        .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e", sql])
        .output()
        .map_err(|e| format!("cannot run mariadb ({e}); {INSTALL_HINT}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mariadb on 127.0.0.1:3306 refused `{sql}`: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// How a WordPress test site is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permalinks {
    /// `/%postname%/`: the REST API answers at `/wp-json/`.
    Pretty,
    /// None: the REST API answers only at `/?rest_route=`.
    Plain,
}

/// A running WordPress site.
pub struct WordPressSite {
    pub url: Url,
    /// A valid Application Password of [`WP_USER`].
    pub app_password: String,
    pub dir: PathBuf,
    database: String,
    _server: Group,
    _tmp: tempfile::TempDir,
}

impl std::fmt::Debug for WordPressSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPressSite")
            .field("url", &self.url.as_str())
            .finish()
    }
}

impl Drop for WordPressSite {
    fn drop(&mut self) {
        let _ = mariadb(&format!("DROP DATABASE IF EXISTS `{}`", self.database));
    }
}

const ROUTER_PHP: &str = r#"<?php
// PHP's built-in server: serve real files as they are, everything else through WordPress.
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path !== '/' && is_file(__DIR__ . $path)) {
    return false;
}
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = __DIR__ . '/index.php';
require __DIR__ . '/index.php';
"#;

const NO_OUTSIDE_PHP: &str = r#"<?php
// Tests never reach off the machine: every HTTP request to another host fails, mail is dropped.
add_filter('pre_http_request', function ($pre, $args, $url) {
    $host = parse_url($url, PHP_URL_HOST);
    if ($host === '127.0.0.1' || $host === 'localhost') {
        return $pre;
    }
    return new WP_Error('http_request_blocked', 'Outgoing HTTP is blocked on this test site: ' . $url);
}, 10, 3);
add_filter('pre_wp_mail', '__return_false');
"#;

const INSTALL_PHP: &str = r#"<?php
// Installs the site without HTTP and prints a new Application Password.
$port = getenv('VIDPRESS_WP_PORT');
$_SERVER['HTTP_HOST'] = '127.0.0.1:' . $port;
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['SERVER_PORT'] = $port;
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
define('WP_INSTALLING', true);
require __DIR__ . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$result = wp_install('Vidpress Test', getenv('VIDPRESS_WP_USER'), 'editor@example.com', false, '', wp_slash(getenv('VIDPRESS_WP_PASSWORD')));
if (getenv('VIDPRESS_WP_PRETTY') === '1') {
    update_option('permalink_structure', '/%postname%/');
    flush_rewrite_rules(false);
}
$app = WP_Application_Passwords::create_new_application_password($result['user_id'], array('name' => 'vidpress-tests'));
if (is_wp_error($app)) {
    fwrite(STDERR, $app->get_error_message());
    exit(1);
}
echo $app[0];
"#;

fn salt() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl WordPressSite {
    /// Starts a fresh site with pretty permalinks.
    pub async fn start() -> WordPressSite {
        Self::start_with(Permalinks::Pretty).await
    }

    /// Starts a fresh site.
    pub async fn start_with(permalinks: Permalinks) -> WordPressSite {
        assert!(
            Path::new(WORDPRESS_TREE).join("wp-load.php").is_file(),
            "WordPress is not installed at {WORDPRESS_TREE}; {INSTALL_HINT}"
        );
        let tmp = tempfile::Builder::new()
            .prefix("vidpress-wp-")
            .tempdir()
            .expect("temporary directory");
        let dir = tmp.path().join("site");
        // Hard links when /tmp shares the file system with the tree (instant, no space), a copy
        // otherwise. -L: Debian's tree holds relative symlinks (wp-content, wp-config.php).
        let linked = Command::new("cp")
            .args(["-rL", "--link", WORDPRESS_TREE])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !linked {
            let _ = std::fs::remove_dir_all(&dir);
            let copied = Command::new("cp")
                .args(["-rL", WORDPRESS_TREE])
                .arg(&dir)
                .status()
                .expect("cp");
            assert!(copied.success(), "cannot copy {WORDPRESS_TREE}");
        }
        let port = free_port();
        let database = format!("vidpress_wp_{}", uuid::Uuid::new_v4().simple());
        mariadb(&format!("CREATE DATABASE `{database}`")).unwrap_or_else(|e| panic!("{e}"));
        let config = format!(
            "<?php\n\
             define('DB_NAME', '{database}');\ndefine('DB_USER', 'root');\ndefine('DB_PASSWORD', '');\n\
             define('DB_HOST', '127.0.0.1:3306');\ndefine('DB_CHARSET', 'utf8mb4');\ndefine('DB_COLLATE', '');\n\
             define('AUTH_KEY', '{}');\ndefine('SECURE_AUTH_KEY', '{}');\ndefine('LOGGED_IN_KEY', '{}');\n\
             define('NONCE_KEY', '{}');\ndefine('AUTH_SALT', '{}');\ndefine('SECURE_AUTH_SALT', '{}');\n\
             define('LOGGED_IN_SALT', '{}');\ndefine('NONCE_SALT', '{}');\n\
             $table_prefix = 'wp_';\n\
             define('WP_HOME', 'http://127.0.0.1:{port}');\ndefine('WP_SITEURL', 'http://127.0.0.1:{port}');\n\
             define('WP_ENVIRONMENT_TYPE', 'local');\ndefine('WP_HTTP_BLOCK_EXTERNAL', true);\n\
             define('DISABLE_WP_CRON', true);\ndefine('AUTOMATIC_UPDATER_DISABLED', true);\n\
             define('WP_DEBUG', false);\ndefine('FS_METHOD', 'direct');\n\
             if (!defined('ABSPATH')) {{ define('ABSPATH', __DIR__ . '/'); }}\n\
             require_once ABSPATH . 'wp-settings.php';\n",
            salt(),
            salt(),
            salt(),
            salt(),
            salt(),
            salt(),
            salt(),
            salt()
        );
        let config_path = dir.join("wp-config.php");
        let _ = std::fs::remove_file(&config_path);
        std::fs::write(&config_path, config).expect("write wp-config.php");
        let mu = dir.join("wp-content").join("mu-plugins");
        std::fs::create_dir_all(&mu).expect("mu-plugins");
        std::fs::write(mu.join("vidpress-no-outside.php"), NO_OUTSIDE_PHP).expect("mu-plugin");
        std::fs::write(dir.join("vidpress-router.php"), ROUTER_PHP).expect("router");
        std::fs::write(dir.join("vidpress-install.php"), INSTALL_PHP).expect("installer");
        let install = Command::new("php")
            .arg(dir.join("vidpress-install.php"))
            .env("VIDPRESS_WP_PORT", port.to_string())
            .env("VIDPRESS_WP_USER", WP_USER)
            .env("VIDPRESS_WP_PASSWORD", WP_PASSWORD)
            .env(
                "VIDPRESS_WP_PRETTY",
                if permalinks == Permalinks::Pretty {
                    "1"
                } else {
                    "0"
                },
            )
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run php ({e}); {INSTALL_HINT}"));
        assert!(
            install.status.success(),
            "installing WordPress failed: {}{}",
            String::from_utf8_lossy(&install.stdout),
            String::from_utf8_lossy(&install.stderr)
        );
        let app_password = String::from_utf8_lossy(&install.stdout).trim().to_owned();
        assert!(
            app_password.len() >= 24,
            "the installer printed no Application Password: {app_password:?}"
        );
        let log_path = tmp.path().join("php.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let server = Command::new("php")
            .args([
                "-d",
                "upload_max_filesize=64M",
                "-d",
                "post_max_size=64M",
                "-d",
                "memory_limit=256M",
                "-S",
                &format!("127.0.0.1:{port}"),
                "-t",
            ])
            .arg(&dir)
            .arg(dir.join("vidpress-router.php"))
            .env("PHP_CLI_SERVER_WORKERS", "4")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start php ({e}); {INSTALL_HINT}"));
        let server = Group(server);
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("URL");
        let probe = url.join("?rest_route=/").expect("URL");
        let client = reqwest::Client::new();
        wait_until("WordPress", Duration::from_secs(60), &log_path, || {
            let request = client.get(probe.clone()).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
        WordPressSite {
            url,
            app_password,
            dir,
            database,
            _server: server,
            _tmp: tmp,
        }
    }
}

/// The Ghost app installed by `scripts/export-peers.sh`.
pub fn ghost_app_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VIDPRESS_GHOST_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache")
        .join("vidpress")
        .join(format!("ghost-{GHOST_VERSION}"))
}

/// A running Ghost site with an integration.
pub struct GhostSite {
    pub url: Url,
    /// The integration's Admin API key, `id:secret`.
    pub admin_key: String,
    _server: Group,
    _tmp: tempfile::TempDir,
}

impl std::fmt::Debug for GhostSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GhostSite")
            .field("url", &self.url.as_str())
            .finish()
    }
}

/// The Ghost owner's sign-in (no "ghost" or "password" in it: Ghost refuses those).
const GHOST_EMAIL: &str = "owner@example.com";
const GHOST_PASSWORD: &str = "Correct-Horse-Battery-9";

impl GhostSite {
    /// Starts a fresh Ghost site and creates an integration.
    pub async fn start() -> GhostSite {
        let app = ghost_app_dir();
        assert!(
            app.join(".installed").is_file(),
            "Ghost {GHOST_VERSION} is not installed in {}; {INSTALL_HINT}",
            app.display()
        );
        let tmp = tempfile::Builder::new()
            .prefix("vidpress-ghost-")
            .tempdir()
            .expect("temporary directory");
        let data = tmp.path();
        std::os::unix::fs::symlink(&app, data.join("current")).expect("current link");
        let content = data.join("content");
        let copied = Command::new("cp")
            .arg("-r")
            .arg(app.join("content"))
            .arg(&content)
            .status()
            .expect("cp");
        assert!(copied.success(), "cannot copy Ghost's content folder");
        let port = free_port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("URL");
        let config = json!({
            "url": format!("http://127.0.0.1:{port}"),
            "server": { "host": "127.0.0.1", "port": port },
            "database": {
                "client": "sqlite3",
                "connection": { "filename": data.join("ghost.db") },
                "useNullAsDefault": true,
                "debug": false
            },
            "paths": { "contentPath": content },
            "mail": { "transport": "stub" },
            "logging": { "level": "info", "transports": ["stdout"] },
            "privacy": { "useTinfoil": true },
            "security": { "staffDeviceVerification": false },
            "process": "local"
        });
        std::fs::write(
            data.join("config.development.json"),
            serde_json::to_vec_pretty(&config).expect("JSON"),
        )
        .expect("write Ghost's config");
        let log_path = data.join("ghost.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let server = Command::new("node")
            .arg("current/index.js")
            .current_dir(data)
            .env("NODE_ENV", "development")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node ({e}); {INSTALL_HINT}"));
        let server = Group(server);
        let client = reqwest::Client::new();
        // Ghost answers HTTP before it has finished booting (sessions among the last): it is
        // ready when it logs that it booted.
        let log_file = log_path.clone();
        wait_until("Ghost", Duration::from_secs(120), &log_path, || {
            let booted =
                std::fs::read_to_string(&log_file).is_ok_and(|log| log.contains("Ghost booted"));
            async move { booted }
        })
        .await;
        let admin_key = Self::setup(&client, &url).await;
        GhostSite {
            url,
            admin_key,
            _server: server,
            _tmp: tmp,
        }
    }

    /// Creates the owner, signs in, and makes an integration; answers its Admin API key.
    async fn setup(client: &reqwest::Client, url: &Url) -> String {
        let origin = url.as_str().trim_end_matches('/').to_owned();
        let api = |path: &str| url.join(&format!("ghost/api/admin/{path}")).expect("URL");
        let response = client
            .post(api("authentication/setup/"))
            .header("Origin", &origin)
            .json(&json!({ "setup": [{
                "name": "Vidpress Test",
                "email": GHOST_EMAIL,
                "password": GHOST_PASSWORD,
                "blogTitle": "Vidpress Test"
            }]}))
            .send()
            .await
            .expect("Ghost setup");
        assert!(
            response.status().is_success(),
            "Ghost setup failed: {}",
            response.text().await.unwrap_or_default()
        );
        let response = client
            .post(api("session/"))
            .header("Origin", &origin)
            .json(&json!({ "username": GHOST_EMAIL, "password": GHOST_PASSWORD }))
            .send()
            .await
            .expect("Ghost sign-in");
        let status = response.status();
        assert!(status.is_success(), "Ghost sign-in failed: {status}");
        let cookies: Vec<String> = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_owned)
            .collect();
        // Ghost stores a new session after it has answered the sign-in, so the first request
        // with the cookie may find none yet: retried until it is there, with a deadline.
        let deadline = Instant::now() + Duration::from_secs(20);
        let body = loop {
            let response = client
                .post(api("integrations/?include=api_keys"))
                .header("Origin", &origin)
                .header(reqwest::header::COOKIE, cookies.join("; "))
                .json(&json!({ "integrations": [{ "name": "Vidpress" }] }))
                .send()
                .await
                .expect("Ghost integration");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                break body;
            }
            assert!(
                status == reqwest::StatusCode::FORBIDDEN && Instant::now() < deadline,
                "creating the integration failed: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        body["integrations"][0]["api_keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["type"] == "admin"))
            .and_then(|k| k["secret"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("the integration has no admin key: {body}"))
    }
}

/// A PNG of `width`×`height` (a colour gradient), for featured-image tests and the benchmark.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    // Stored (uncompressed) deflate blocks keep this dependency-free; WordPress and Ghost read it
    // as any PNG.
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            raw.extend_from_slice(&[
                (x * 255 / width.max(1)) as u8,
                (y * 255 / height.max(1)) as u8,
                128,
            ]);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let mut chunks = raw.chunks(65_535).peekable();
    while let Some(chunk) = chunks.next() {
        zlib.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &zlib), (b"IEND", &[])] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        png.extend_from_slice(&crc_input);
        png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
