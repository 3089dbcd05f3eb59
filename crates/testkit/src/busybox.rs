//! The local test image `dce-test-busybox:latest`: `/bin/busybox` from the host (Debian's
//! busybox-static) plus one symlink per applet, as `busybox --install -s /bin` would make.

use std::process::Command;

use bollard::query_parameters::{CreateImageOptions, RemoveImageOptions};
use bollard::{body_full, Docker};
use bytes::Bytes;
use futures_util::TryStreamExt;
use tokio::sync::OnceCell;

use crate::TestkitError;

/// The image every Docker test uses; built offline by [`ensure_busybox_image`].
pub const BUSYBOX_IMAGE: &str = "dce-test-busybox:latest";

/// A stand-in infra image for tests that cannot build dce's own (outside `crates/dce`): the same
/// busybox root whose entrypoint sleeps until SIGTERM/SIGINT and then exits 0, like `dce pause`.
pub const PAUSE_IMAGE: &str = "dce-test-pause:latest";

const PAUSE_ENTRYPOINT: &str = r#"ENTRYPOINT ["/bin/sh","-c","trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]"#;
const PAUSE_ARGV: [&str; 3] = [
    "/bin/sh",
    "-c",
    "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done",
];
const BUSYBOX_CMD: &str = r#"CMD ["/bin/sh"]"#;

const HOST_BUSYBOX: &str = "/bin/busybox";

static BUILT: OnceCell<()> = OnceCell::const_new();

/// Makes sure [`BUSYBOX_IMAGE`] and [`PAUSE_IMAGE`] exist, importing them when they do not.
/// Idempotent and cheap after the first call; concurrent callers in one process wait for one
/// import.
pub async fn ensure_busybox_image(docker: &Docker) -> Result<(), TestkitError> {
    BUILT
        .get_or_try_init(|| async {
            for (image, change, wanted) in [
                (BUSYBOX_IMAGE, BUSYBOX_CMD, (None, Some(vec!["/bin/sh"]))),
                (
                    PAUSE_IMAGE,
                    PAUSE_ENTRYPOINT,
                    (Some(PAUSE_ARGV.to_vec()), None),
                ),
            ] {
                // A stale or foreign image under our tag is replaced.
                let inspect = docker.inspect_image(image).await.ok();
                let old_id = inspect.as_ref().and_then(|i| i.id.clone());
                let current = inspect
                    .and_then(|i| i.config)
                    .map(|c| (c.entrypoint, c.cmd));
                let wanted = (
                    wanted.0.map(|v| v.iter().map(|s| s.to_string()).collect()),
                    wanted.1.map(|v| v.iter().map(|s| s.to_string()).collect()),
                );
                if current != Some(wanted) {
                    import(docker, image, change).await?;
                    if let Some(old_id) = old_id {
                        // Best effort: an image still used by a container stays.
                        let _ = docker
                            .remove_image(&old_id, None::<RemoveImageOptions>, None)
                            .await;
                    }
                }
            }
            Ok::<_, TestkitError>(())
        })
        .await
        .map(|_| ())
}

async fn import(docker: &Docker, image: &str, change: &str) -> Result<(), TestkitError> {
    let tar = tokio::task::spawn_blocking(rootfs_tar)
        .await
        .map_err(std::io::Error::other)??;
    let (repo, tag) = image.split_once(':').unwrap_or((image, "latest"));
    let options = CreateImageOptions {
        from_src: Some("-".to_string()),
        repo: Some(repo.to_string()),
        tag: Some(tag.to_string()),
        changes: vec![change.to_string()],
        ..Default::default()
    };
    docker
        .create_image(Some(options), Some(body_full(Bytes::from(tar))), None)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// A root filesystem tarball: busybox, its applet links, `/tmp`, and a minimal `/etc/passwd` and
/// `/etc/group` so that tests can use user names such as `nobody`.
fn rootfs_tar() -> Result<Vec<u8>, std::io::Error> {
    let busybox = std::fs::read(HOST_BUSYBOX)?;
    let list = Command::new(HOST_BUSYBOX).arg("--list").output()?;
    if !list.status.success() {
        return Err(std::io::Error::other("`busybox --list` failed"));
    }
    let applets = String::from_utf8_lossy(&list.stdout).into_owned();

    let mut builder = tar::Builder::new(Vec::new());
    append_dir(&mut builder, "bin/", 0o755)?;
    append_dir(&mut builder, "etc/", 0o755)?;
    append_dir(&mut builder, "tmp/", 0o1777)?;
    append_file(&mut builder, "bin/busybox", 0o755, &busybox)?;
    append_file(
        &mut builder,
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    append_file(
        &mut builder,
        "etc/group",
        0o644,
        b"root:x:0:\nnogroup:x:65534:\n",
    )?;
    for applet in applets.lines().map(str::trim) {
        if applet.is_empty() || applet == "busybox" || applet.contains('/') {
            continue;
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        builder.append_link(&mut header, format!("bin/{applet}"), "/bin/busybox")?;
    }
    builder.into_inner()
}

fn append_dir(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &str,
    mode: u32,
) -> Result<(), std::io::Error> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(mode);
    header.set_size(0);
    builder.append_data(&mut header, path, std::io::empty())
}

fn append_file(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &str,
    mode: u32,
    content: &[u8],
) -> Result<(), std::io::Error> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(mode);
    header.set_size(content.len() as u64);
    builder.append_data(&mut header, path, content)
}
