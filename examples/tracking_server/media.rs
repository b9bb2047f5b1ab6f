//! Files the tracker keeps under its data directory: media that runs log (images, audio,
//! video, tables' files), laid out as Trackio lays them out so that a logged value's
//! `file_path` names its file (`media/<project>/<run>/<step>/<name>`), and artifact blobs by
//! their SHA-256 (`artifacts/<project>/<digest[..2]>/<digest>`). Uploaded files reach the
//! handlers in the crate's short-lived upload store and are copied here, where they stay
//! across restarts. `GET /gradio_api/file=<media dir>/<file_path>` serves media (with byte
//! ranges), and `GET /artifact_blob/<project>/<digest>` serves blobs as Trackio's client
//! fetches them.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The folder of media inside the data directory.
pub const MEDIA_DIR: &str = "media";
/// The folder of artifact blobs inside the data directory.
pub const BLOB_DIR: &str = "artifacts";

/// The name a project has on disk, as Trackio gives it: only `[A-Za-z0-9_-]`, or `default`.
pub fn disk_name(project: &str) -> String {
    let safe: String = project
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    if safe.is_empty() {
        "default".to_owned()
    } else {
        safe
    }
}

/// One path component from a client: refused when it could leave its folder.
fn component<'a>(what: &str, text: &'a str) -> Result<&'a str, String> {
    if text.is_empty()
        || text == "."
        || text == ".."
        || text.contains(['/', '\\', '\0'])
        || text.len() > 255
    {
        return Err(format!(
            "{what} {text:?} cannot name a folder: use a non-empty name without '/', '\\\\' or '..'"
        ));
    }
    Ok(text)
}

/// Where one media upload goes. With a run: `<project>/<run>/<step>/<name>`; without:
/// `<project>/files/<relative_path>/<name>` (files saved for the project).
pub fn media_path(
    media: &Path,
    project: &str,
    run: Option<&str>,
    step: Option<i64>,
    relative_path: Option<&str>,
    name: &str,
) -> Result<PathBuf, String> {
    let mut path = media.join(disk_name(project));
    match run.filter(|r| !r.is_empty()) {
        Some(run) => {
            path.push(component("run", run)?);
            if let Some(step) = step {
                path.push(step.to_string());
            }
        }
        None => {
            if step.is_some() {
                return Err("a media upload at a step needs a run".into());
            }
            path.push("files");
            for part in relative_path.unwrap_or_default().split(['/', '\\']) {
                if !part.is_empty() {
                    path.push(component("relative_path part", part)?);
                }
            }
        }
    }
    // Only the last part of the client's name, as Trackio does.
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    path.push(component("file name", base)?);
    Ok(path)
}

/// The folder of a run's media (`<project>/<run>`), when the run's name can name a folder.
pub fn run_media_dir(media: &Path, project: &str, run: &str) -> Option<PathBuf> {
    let run = component("run", run).ok()?;
    Some(media.join(disk_name(project)).join(run))
}

/// Puts the file `from` at `to` (creating folders), replacing what is there, through a
/// temporary name so that a reader never sees half a file. A hard link when both are on one
/// file system (no bytes copied: the upload store later removes only its own name), else a
/// copy. Returns the size.
pub fn place(from: &Path, to: &Path) -> Result<u64, String> {
    let dir = to
        .parent()
        .ok_or_else(|| format!("{} has no folder", to.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let partial = dir.join(format!(".partial-{}", uuid::Uuid::new_v4().simple()));
    let placed = match std::fs::hard_link(from, &partial) {
        Ok(()) => std::fs::metadata(&partial).map(|m| m.len()),
        Err(_) => std::fs::copy(from, &partial),
    }
    .map_err(|e| format!("cannot copy the uploaded file to {}: {e}", dir.display()))
    .and_then(|size| {
        std::fs::rename(&partial, to)
            .map(|()| size)
            .map_err(|e| format!("cannot move the file to {}: {e}", to.display()))
    });
    if placed.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    placed
}

/// The SHA-256 of a file, in hex, and its size.
pub fn sha256_of(path: &Path) -> Result<(String, u64), String> {
    use std::io::Read as _;
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        size,
    ))
}

/// Where a blob is kept.
pub fn blob_path(blobs: &Path, project: &str, digest: &str) -> PathBuf {
    blobs
        .join(disk_name(project))
        .join(&digest[..2.min(digest.len())])
        .join(digest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn media_paths_stay_inside_their_folder() {
        use super::{disk_name, media_path};
        use std::path::Path;
        let m = Path::new("/data/media");
        assert_eq!(
            media_path(m, "my.proj", Some("run-1"), Some(3), None, "a/b/x.png").unwrap(),
            Path::new("/data/media/myproj/run-1/3/x.png")
        );
        assert_eq!(
            media_path(m, "p", None, None, Some("cfg/sub"), "f.txt").unwrap(),
            Path::new("/data/media/p/files/cfg/sub/f.txt")
        );
        for (run, rel, name) in [
            (Some(".."), None, "x"),
            (Some("a/b"), None, "x"),
            (None, Some("../up"), "x"),
            (Some("r"), None, ".."),
            (Some("r"), None, "dir/"),
        ] {
            assert!(
                media_path(m, "p", run, None, rel, name).is_err(),
                "{run:?} {rel:?} {name}"
            );
        }
        assert_eq!(disk_name("../.."), "default");
        assert_eq!(super::run_media_dir(m, "p", ".."), None);
        assert_eq!(super::run_media_dir(m, "p", "a/b"), None);
        assert_eq!(
            super::run_media_dir(m, "p.x", "r"),
            Some(Path::new("/data/media/px/r").to_owned())
        );
    }
}
