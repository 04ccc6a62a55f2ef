//! The deployment files in `deploy/` checked with the tools that read them: the compose file as
//! YAML (its services, commands and shared volumes), the systemd units with `systemd-analyze
//! verify`, and the Dockerfiles with hadolint. No Docker engine runs here, so the images are
//! not built.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn deploy(name: &str) -> PathBuf {
    support::repo_root().join("deploy").join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A compose service with YAML merge keys (`<<: *anchor`) applied, as compose applies them.
fn merged(service: &Yaml) -> yaml_rust2::yaml::Hash {
    let mut out = yaml_rust2::yaml::Hash::new();
    let hash = service.as_hash().expect("a service is a mapping");
    if let Some(base) = hash.get(&Yaml::String("<<".into())) {
        out.extend(merged(base));
    }
    for (k, v) in hash {
        if k.as_str() != Some("<<") {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn strings(value: Option<&Yaml>) -> Vec<String> {
    value
        .and_then(Yaml::as_vec)
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_compose_file_runs_postgres_a_web_node_and_two_workers_on_shared_volumes() {
    let docs = YamlLoader::load_from_str(&read(&deploy("compose.yaml"))).expect("valid YAML");
    let compose = &docs[0];
    let services = compose["services"].as_hash().expect("services");
    let names: Vec<&str> = services.keys().filter_map(Yaml::as_str).collect();
    for name in ["db", "web", "worker-1", "worker-2", "worker-gpu"] {
        assert!(names.contains(&name), "service {name} in {names:?}");
    }
    assert!(
        compose["services"]["db"]["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("postgres:")),
        "PostgreSQL"
    );

    let key = |k: &str| Yaml::String(k.into());
    for (name, command) in [
        ("web", vec!["serve", "--no-workers"]),
        ("worker-1", vec!["worker"]),
        ("worker-2", vec!["worker"]),
        ("worker-gpu", vec!["worker"]),
    ] {
        let service = merged(&compose["services"][name]);
        assert_eq!(strings(service.get(&key("command"))), command, "{name}");
        let volumes = strings(service.get(&key("volumes")));
        // Uploads written by the web node are read by the workers: the same data volume at the
        // same path everywhere (deploy/README.md, "Shared uploads").
        assert!(
            volumes.contains(&"data:/var/lib/vidpress/data".to_owned()),
            "{name} mounts the shared data volume: {volumes:?}"
        );
        assert!(
            volumes.contains(&"models:/var/lib/vidpress/models".to_owned()),
            "{name} mounts the models volume: {volumes:?}"
        );
        let env = merged(service.get(&key("environment")).expect("environment"));
        let database = env
            .get(&key("VIDPRESS_DATABASE_URL"))
            .and_then(Yaml::as_str)
            .unwrap_or_default();
        assert!(
            database.starts_with("postgres://") && database.contains("@db/"),
            "{name} uses the compose PostgreSQL: {database}"
        );
        assert!(
            service
                .get(&key("depends_on"))
                .is_some_and(|d| !d["db"].is_badvalue()),
            "{name} waits for the database"
        );
    }
    let gpu = merged(&compose["services"]["worker-gpu"]);
    assert_eq!(strings(gpu.get(&key("profiles"))), ["gpu"]);
    let volumes = compose["volumes"].as_hash().expect("named volumes");
    for v in ["db", "data", "models"] {
        assert!(volumes.contains_key(&key(v)), "volume {v}");
    }
}

#[test]
fn the_systemd_units_verify_and_are_sandboxed() {
    let analyze = Command::new("systemd-analyze").arg("--version").output();
    assert!(
        analyze.is_ok_and(|o| o.status.success()),
        "systemd-analyze is needed to check the units (Debian package systemd)"
    );
    let dir = tempfile::tempdir().unwrap();
    for unit in ["vidpress.service", "vidpress-worker@.service"] {
        let text = read(&deploy("systemd").join(unit));
        for directive in [
            "User=vidpress",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "CapabilityBoundingSet=\n",
            "KillSignal=SIGTERM",
        ] {
            assert!(text.contains(directive), "{unit} has {directive:?}");
        }
        // verify checks that ExecStart's program exists: point it at the binary under test.
        let text = text.replace("/usr/local/bin/vidpress", env!("CARGO_BIN_EXE_vidpress"));
        let name = unit.replace("@.", "@1.");
        std::fs::write(dir.path().join(&name), text).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(dir.path().join(&name))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // verify exits 0 on unknown keys and bad values, and only warns: any line about the
        // unit is a defect.
        let complaints: Vec<&str> = stderr.lines().filter(|l| l.contains(&name)).collect();
        assert!(
            out.status.success() && complaints.is_empty(),
            "systemd-analyze verify {name}: {stderr}"
        );
    }
}

#[test]
fn the_dockerfiles_pass_hadolint_and_run_as_a_non_root_user_with_volumes_and_a_health_check() {
    let hadolint = support::repo_root().join(".venv/bin/hadolint");
    assert!(
        hadolint.exists(),
        "{} missing: scripts/python-tools.sh installs it",
        hadolint.display()
    );
    for file in ["Dockerfile", "Dockerfile.cuda"] {
        let out = Command::new(&hadolint)
            .arg("--no-color")
            .arg("--config")
            .arg(deploy(".hadolint.yaml"))
            .arg(deploy(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "hadolint {file}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = read(&deploy(file));
        assert!(
            text.lines().filter(|l| l.starts_with("FROM ")).count() >= 2,
            "{file} is a multi-stage build"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("USER ") && !l.contains("root") && !l.contains(" 0")),
            "{file} runs as a non-root user"
        );
        assert!(
            text.contains("VOLUME [\"/var/lib/vidpress/data\", \"/var/lib/vidpress/models\"]"),
            "{file} keeps data and models in volumes"
        );
    }
    assert!(
        read(&deploy("Dockerfile")).contains("HEALTHCHECK")
            && read(&deploy("Dockerfile")).contains("/readyz"),
        "the web image checks /readyz"
    );
}
