//! The local test image `dce-test-busybox:latest`: `/bin/busybox` from the host (Debian's
//! busybox-static) plus one symlink per applet, as `busybox --install -s /bin` would make.

use std::process::Command;

use bollard::query_parameters::CreateImageOptions;
use bollard::{body_full, Docker};
use bytes::Bytes;
use futures_util::TryStreamExt;
use tokio::sync::OnceCell;

use crate::TestkitError;

/// The image every Docker test uses; built offline by [`ensure_busybox_image`].
pub const BUSYBOX_IMAGE: &str = "dce-test-busybox:latest";

const HOST_BUSYBOX: &str = "/bin/busybox";

static BUILT: OnceCell<()> = OnceCell::const_new();

/// Makes sure [`BUSYBOX_IMAGE`] exists, importing it when it does not. Idempotent and cheap after
/// the first call; concurrent callers in one process wait for one import.
pub async fn ensure_busybox_image(docker: &Docker) -> Result<(), TestkitError> {
    BUILT
        .get_or_try_init(|| async {
            if docker.inspect_image(BUSYBOX_IMAGE).await.is_ok() {
                return Ok(());
            }
            import(docker).await
        })
        .await
        .map(|_| ())
}

async fn import(docker: &Docker) -> Result<(), TestkitError> {
    let tar = tokio::task::spawn_blocking(rootfs_tar)
        .await
        .map_err(std::io::Error::other)??;
    let (repo, tag) = BUSYBOX_IMAGE
        .split_once(':')
        .unwrap_or((BUSYBOX_IMAGE, "latest"));
    let options = CreateImageOptions {
        from_src: Some("-".to_string()),
        repo: Some(repo.to_string()),
        tag: Some(tag.to_string()),
        changes: vec![r#"CMD ["/bin/sh"]"#.to_string()],
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
