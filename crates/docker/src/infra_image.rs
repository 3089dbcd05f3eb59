//! The infra container's image, built on demand from dce's own binary.
//!
//! The image holds one file, `/dce` (the statically linked executable), with entrypoint
//! `["/dce", "pause"]`. It is made with the engine's import API (`docker import` of a one-file
//! tarball), so no registry and no build tooling is needed on the agent. The tag is derived from
//! a hash of the binary: an upgraded dce gets a new image, an unchanged one reuses it. Every
//! image dce imports carries the label [`INFRA_IMAGE_LABEL`], so that `dce reap --images` can
//! prune the ones of past builds without touching anything else named `dce-infra`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use bollard::query_parameters::{CreateImageOptions, RemoveImageOptions, TagImageOptions};
use bollard::{body_full, Docker};
use bytes::Bytes;
use futures_util::TryStreamExt;
use pod::plan::BUILTIN_INFRA_IMAGE;
use sha2::{Digest, Sha256};

use crate::client::DockerError;

/// Repository of the images dce builds from itself.
pub const INFRA_IMAGE_REPO: &str = "dce-infra";

/// Label (value `true`) on every image dce imports: what the image pruning of the reaper
/// trusts, since anyone may tag an image `dce-infra:<something>`.
pub const INFRA_IMAGE_LABEL: &str = "io.dce.infra-image";

/// The running executable, which is what the infra image is built from.
pub fn own_binary() -> Result<PathBuf, DockerError> {
    std::env::current_exe().map_err(|e| DockerError::InfraBinary {
        path: "/proc/self/exe".to_string(),
        message: e.to_string(),
    })
}

/// Makes sure the infra image for `binary` exists and returns its reference
/// (`dce-infra:<hash>`). Safe when several executors race: every one of them ends up with a
/// working image under the same tag, and a loser's duplicate is removed.
pub async fn ensure_infra_image(docker: &Docker, binary: &Path) -> Result<String, DockerError> {
    let identity = file_identity(binary);
    let known = identity.as_ref().and_then(known_tag);
    let tag = match known {
        Some(tag) => tag,
        None => hash_binary(binary).await?,
    };
    let reference = reference_of(&tag);
    if docker.inspect_image(&reference).await.is_err() {
        // Executors on one host take turns, so the image is imported once; the others find it.
        let _turn = host_lock(&tag).await;
        if docker.inspect_image(&reference).await.is_err() {
            let content = read_binary(binary).await?;
            import(docker, binary, &content, &reference, tag.clone()).await?;
        }
    }
    if let Some(identity) = identity {
        lock_known().insert(identity, tag);
    }
    if !ALIASED.load(Ordering::Relaxed)
        && is_own_binary(binary)
        && !ALIASED.swap(true, Ordering::Relaxed)
    {
        alias_as_builtin(docker, &reference).await;
    }
    Ok(reference)
}

/// The reference (`dce-infra:<hash>`) of the infra image built from `binary`, whether or not it
/// exists: the reaper keeps the running dce's own image. Reads and hashes the binary unless this
/// process already did.
pub async fn infra_image_reference(binary: &Path) -> Result<String, DockerError> {
    let identity = file_identity(binary);
    if let Some(tag) = identity.as_ref().and_then(known_tag) {
        return Ok(reference_of(&tag));
    }
    let tag = hash_binary(binary).await?;
    if let Some(identity) = identity {
        lock_known().insert(identity, tag.clone());
    }
    Ok(reference_of(&tag))
}

fn reference_of(tag: &str) -> String {
    format!("{INFRA_IMAGE_REPO}:{tag}")
}

/// A binary as (path, size, modification time): unchanged means same content, so its hash is
/// computed once per process (hashing a large binary on every launch would slow launches).
type FileIdentity = (PathBuf, u64, SystemTime);

fn file_identity(binary: &Path) -> Option<FileIdentity> {
    let metadata = std::fs::metadata(binary).ok()?;
    Some((
        binary.to_path_buf(),
        metadata.len(),
        metadata.modified().ok()?,
    ))
}

fn known_tag(identity: &FileIdentity) -> Option<String> {
    lock_known().get(identity).cloned()
}

/// Whether this process has tagged its own binary's image by version (once is enough).
static ALIASED: AtomicBool = AtomicBool::new(false);

/// Tags already computed by this process.
fn lock_known() -> std::sync::MutexGuard<'static, HashMap<FileIdentity, String>> {
    static KNOWN: OnceLock<Mutex<HashMap<FileIdentity, String>>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| Mutex::new(HashMap::new()));
    match known.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The tag of `binary`, hashed in small reads: holding the whole executable (about 12 MB) in
/// memory only to hash it would double the executor's peak resident memory.
async fn hash_binary(binary: &Path) -> Result<String, DockerError> {
    let path = binary.to_path_buf();
    let hashed = tokio::task::spawn_blocking(move || {
        let mut hasher = Sha256::new();
        std::io::copy(&mut std::fs::File::open(&path)?, &mut hasher)?;
        Ok::<_, std::io::Error>(tag_of(&hasher.finalize()))
    })
    .await;
    let error = |message: String| DockerError::InfraBinary {
        path: binary.display().to_string(),
        message,
    };
    hashed
        .map_err(|e| error(e.to_string()))?
        .map_err(|e| error(e.to_string()))
}

async fn read_binary(binary: &Path) -> Result<Vec<u8>, DockerError> {
    let path = binary.to_path_buf();
    tokio::task::spawn_blocking(move || read_static_binary(&path))
        .await
        .map_err(|e| DockerError::InfraBinary {
            path: binary.display().to_string(),
            message: e.to_string(),
        })?
}

/// An exclusive `flock` on `$TMPDIR/dce-infra-<tag>.lock`, held until dropped. Best effort: when
/// the file cannot be used (e.g. a private /tmp), imports may race, which
/// [`drop_duplicate_of_race`] tolerates.
async fn host_lock(tag: &str) -> Option<std::fs::File> {
    let path = std::env::temp_dir().join(format!("dce-infra-{tag}.lock"));
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ok()?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).ok()?;
        Some(file)
    })
    .await
    .ok()
    .flatten()
}

fn is_own_binary(binary: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let own = std::env::current_exe().ok();
    own.and_then(|own| canonical(&own))
        .is_some_and(|own| Some(own) == canonical(binary))
}

/// Also tags the image of the running dce as [`BUILTIN_INFRA_IMAGE`] (`dce-infra:<version>`), the name the
/// generated compose file uses, so that a person can run that file by hand. Best effort.
async fn alias_as_builtin(docker: &Docker, reference: &str) {
    let Some((repo, tag)) = BUILTIN_INFRA_IMAGE.split_once(':') else {
        return;
    };
    let options = TagImageOptions {
        repo: Some(repo.to_string()),
        tag: Some(tag.to_string()),
    };
    if let Err(error) = docker.tag_image(reference, Some(options)).await {
        tracing::debug!(image = %reference, %error, "could not tag the infra image by version");
    }
}

/// `docker import` of a tarball holding only `/dce`, tagged `reference`.
async fn import(
    docker: &Docker,
    binary: &Path,
    content: &[u8],
    reference: &str,
    tag: String,
) -> Result<(), DockerError> {
    tracing::info!(image = %reference, binary = %binary.display(), "building the infra image");
    let tarball = one_file_tar(content).map_err(|e| DockerError::InfraBinary {
        path: binary.display().to_string(),
        message: e.to_string(),
    })?;
    let options = CreateImageOptions {
        from_src: Some("-".to_string()),
        repo: Some(INFRA_IMAGE_REPO.to_string()),
        tag: Some(tag),
        changes: vec![
            r#"ENTRYPOINT ["/dce","pause"]"#.to_string(),
            format!("LABEL {INFRA_IMAGE_LABEL}=true"),
        ],
        ..Default::default()
    };
    let progress: Vec<_> = docker
        .create_image(Some(options), Some(body_full(Bytes::from(tarball))), None)
        .try_collect()
        .await
        .map_err(|e| DockerError::engine("import", format!("image {reference}"), e))?;
    let imported = progress
        .iter()
        .filter_map(|p| p.status.as_deref())
        .find(|s| s.starts_with("sha256:"))
        .map(str::to_string);
    drop_duplicate_of_race(docker, reference, imported.as_deref()).await;
    Ok(())
}

/// When another executor imported the same tag at the same moment, the tag points at its image
/// and ours is an untagged duplicate: remove it (an image in use is refused by the engine, which
/// is fine).
async fn drop_duplicate_of_race(docker: &Docker, reference: &str, imported: Option<&str>) {
    let Some(imported) = imported else { return };
    let Ok(current) = docker.inspect_image(reference).await else {
        return;
    };
    if current.id.as_deref() != Some(imported) {
        tracing::debug!(image = %reference, duplicate = %imported, "lost an import race");
        let _ = docker
            .remove_image(imported, None::<RemoveImageOptions>, None)
            .await;
    }
}

/// The tag of the image built from `content`: the first 16 hex digits of its SHA-256.
fn tag_of(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn read_static_binary(path: &Path) -> Result<Vec<u8>, DockerError> {
    let error = |message: String| DockerError::InfraBinary {
        path: path.display().to_string(),
        message,
    };
    let content = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    if has_interpreter(&content) {
        return Err(error(
            "the binary is dynamically linked and cannot run in a FROM-scratch image; \
             configure infracontainer.image"
                .to_string(),
        ));
    }
    Ok(content)
}

/// Whether an ELF64 little-endian file asks for a dynamic loader (has a `PT_INTERP` header).
/// Anything that is not such an ELF file is left for the engine to judge.
fn has_interpreter(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return false;
    }
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let mut phoff_bytes = [0u8; 8];
    phoff_bytes.copy_from_slice(&elf[32..40]);
    let Ok(phoff) = usize::try_from(u64::from_le_bytes(phoff_bytes)) else {
        return false;
    };
    let (entry_size, count) = (u16_at(54), u16_at(56));
    (0..count).any(|i| {
        let at = phoff.saturating_add(i.saturating_mul(entry_size));
        elf.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) == PT_INTERP)
            .unwrap_or(false)
    })
}

/// A tarball holding only `/dce` (mode 0755).
fn one_file_tar(content: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    let mut builder = tar::Builder::new(Vec::with_capacity(content.len() + 4096));
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o755);
    header.set_size(content.len() as u64);
    builder.append_data(&mut header, "dce", content)?;
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tag_is_the_streamed_hash_of_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let tag = |content: &[u8]| {
            let path = dir.path().join("binary");
            std::fs::write(&path, content).unwrap();
            async move { hash_binary(&path).await.unwrap() }
        };
        let a = tag(b"a").await;
        assert_eq!(a.len(), 16);
        assert_eq!(a, tag_of(&Sha256::digest(b"a")));
        assert_ne!(a, tag(b"b").await);
        let large = vec![7u8; 1 << 20];
        assert_eq!(tag(&large).await, tag_of(&Sha256::digest(&large)));
    }

    #[test]
    fn static_busybox_has_no_interpreter_but_a_dynamic_binary_has() {
        let busybox = std::fs::read("/bin/busybox").unwrap();
        assert!(!has_interpreter(&busybox));
        let dynamic = std::fs::read("/bin/ls").unwrap();
        assert!(has_interpreter(&dynamic));
        assert!(!has_interpreter(b"#!/bin/sh\n"));
    }

    #[test]
    fn tarball_holds_one_executable_file() {
        let tarball = one_file_tar(b"binary").unwrap();
        let mut archive = tar::Archive::new(tarball.as_slice());
        let entries: Vec<_> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(entries, vec![("dce".to_string(), 0o755)]);
    }
}
