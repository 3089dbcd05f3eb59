//! Loading behaviours that are not a single syntax family: file layout, `.env`, profiles,
//! mixing inline and file sources, the generated compose file.

mod common;

use std::fs;
use std::path::Path;

use common::{files, load_case, load_in, test_env};
use compose::{ComposeSource, InterpolationEnv, MountKind, ProjectLoader, Sandbox};

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn relative_paths_resolve_against_the_first_files_directory() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app/compose.yml",
        "services:\n  web:\n    image: x\n    volumes: [\"./data:/data\"]\n",
    );
    write(dir.path(), "overrides/extra.yml", "services:\n  web:\n    volumes: [\"./logs:/logs\", \"~/cache:/cache\"]\n    env_file: app.env\n");
    write(dir.path(), "app/app.env", "FROM=app-dir\n");
    write(dir.path(), "app/.env", "TAG_FROM_DOTENV=yes\n");
    let project = load_in(dir.path(), &["app/compose.yml", "overrides/extra.yml"]).unwrap();
    let root = dir.path().canonicalize().unwrap();
    let web = &project.services["web"];
    let sources: Vec<_> = web
        .volumes
        .iter()
        .map(|v| v.source.clone().unwrap())
        .collect();
    assert_eq!(
        sources,
        [
            root.join("app/data").display().to_string(),
            root.join("app/logs").display().to_string(),
            "/home/test/cache".to_string()
        ]
    );
    assert_eq!(web.environment["FROM"].as_deref(), Some("app-dir"));
    let sandbox = Sandbox::new(dir.path()).unwrap();
    assert!(sandbox.contains(Path::new(&sources[0])));
    assert!(!sandbox.contains(Path::new(&sources[2])));
}

#[test]
fn dotenv_fills_but_does_not_override_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", "TAG=from-dotenv\nONLY_DOTENV=d\n");
    write(
        dir.path(),
        "compose.yml",
        "services:\n  web:\n    image: \"app:${TAG}\"\n    environment:\n      D: $ONLY_DOTENV\n",
    );
    let project = load_in(dir.path(), &["compose.yml"]).unwrap();
    assert_eq!(project.services["web"].image, "app:1.0");
    assert_eq!(
        project.services["web"].environment["D"].as_deref(),
        Some("d")
    );
    let project = ProjectLoader::new(dir.path(), InterpolationEnv::empty())
        .load(&files(&["compose.yml"]))
        .unwrap();
    assert_eq!(project.services["web"].image, "app:from-dotenv");
}

#[test]
fn profiles_select_services() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "compose.yml",
        "services:\n  web:\n    image: x\n  debug:\n    image: x\n    profiles: [debug]\n  tools:\n    image: x\n    profiles: [tools, debug]\n    depends_on:\n      missing:\n        condition: service_started\n        required: false\n",
    );
    let names = |loader: ProjectLoader| -> Vec<String> {
        loader
            .load(&files(&["compose.yml"]))
            .unwrap()
            .services
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(names(ProjectLoader::new(dir.path(), test_env())), ["web"]);
    assert_eq!(
        names(ProjectLoader::new(dir.path(), test_env()).with_profiles(vec!["tools".into()])),
        ["web", "tools"]
    );
    let env = InterpolationEnv::from_vars([("COMPOSE_PROFILES", "debug")]);
    assert_eq!(
        names(ProjectLoader::new(dir.path(), env)),
        ["web", "debug", "tools"]
    );
    let project = ProjectLoader::new(dir.path(), test_env())
        .with_profiles(vec!["*".into()])
        .load(&files(&["compose.yml"]))
        .unwrap();
    assert!(
        project.services["tools"].depends_on.is_empty(),
        "optional missing dependency dropped"
    );
}

#[test]
fn inline_and_file_sources_merge_in_order() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "compose.yml",
        "services:\n  b:\n    image: b:1\n  a:\n    image: a:1\n",
    );
    let sources = vec![
        ComposeSource::File("compose.yml".into()),
        ComposeSource::Inline {
            name: "<TaskInfo.data>".into(),
            content: "services:\n  c:\n    image: c\n  a:\n    image: a:2\n".into(),
        },
    ];
    let project = ProjectLoader::new(dir.path(), test_env())
        .load(&sources)
        .unwrap();
    let order: Vec<_> = project.services.keys().cloned().collect();
    assert_eq!(order, ["b", "a", "c"]);
    assert_eq!(project.services["a"].image, "a:2");
}

#[test]
fn dependency_names_include_implicit_dependencies() {
    let (project, _dir) = load_case("misc", &["compose.yml"]);
    assert_eq!(
        project.services["sidecar"].dependency_names(),
        ["everything"]
    );
    assert_eq!(project.services["linker"].dependency_names(), ["sidecar"]);
    let (project, _dir) = load_case("volumes", &["compose.yml"]);
    assert_eq!(
        project.services["db"].dependency_names(),
        ["helper", "helper2"]
    );
    assert!(project.services["db"]
        .volumes
        .iter()
        .any(|v| v.kind == MountKind::Tmpfs));
}

#[test]
fn generated_compose_file() {
    let (project, dir) = load_case("multi_file", &["base.yml", "override.yml"]);
    let yaml = project.to_yaml();
    let root = dir.path().canonicalize().unwrap();
    insta::assert_snapshot!(
        "multi_file_to_yaml",
        yaml.replace(root.to_str().unwrap(), "[SANDBOX]")
    );
    let (project, dir) = load_case("misc", &["compose.yml"]);
    let yaml = project.to_yaml();
    let root = dir.path().canonicalize().unwrap();
    insta::assert_snapshot!(
        "misc_to_yaml",
        yaml.replace(root.to_str().unwrap(), "[SANDBOX]")
    );
}
