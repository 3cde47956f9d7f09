//! Report files under the data directory (`<SONGNUAN_DATA_DIR>/reports/<campaign>/<report>.<ext>`).
//! A file is written to a temporary name and renamed into place, so a reader never sees half a
//! file and a job run twice (its runner died after writing) simply writes it again.
use crate::core::error::{DomainError, DomainResult};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The folder of generated files, under the data directory.
pub const FOLDER: &str = "reports";

/// Where a report's file goes, relative to the data directory ("reports/3/17.docx").
pub fn relative_path(campaign_id: i64, report_id: i64, extension: &str) -> String {
    format!("{FOLDER}/{campaign_id}/{report_id}.{extension}")
}

/// The absolute path of a stored relative path; refuses anything that would leave the folder.
pub fn absolute(data_dir: &Path, relative: &str) -> DomainResult<PathBuf> {
    let rel = Path::new(relative);
    let inside = rel.starts_with(FOLDER)
        && rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        return Err(DomainError::internal(anyhow::anyhow!("报表文件路径无效")));
    }
    Ok(data_dir.join(rel))
}

/// A temporary path next to the final one (same folder, so the rename is atomic).
pub fn temporary(final_path: &Path) -> PathBuf {
    let mut name = final_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{:08x}", rand::random::<u32>()));
    final_path.with_file_name(name)
}

/// What was written: size and SHA-256 (hex).
pub struct Written {
    pub size: i64,
    pub sha256: String,
}

/// Moves a finished temporary file into place and describes it.
pub fn commit(temp: &Path, final_path: &Path) -> DomainResult<Written> {
    let bytes = std::fs::read(temp).map_err(DomainError::internal)?;
    let written = Written {
        size: bytes.len() as i64,
        sha256: hex::encode(Sha256::digest(&bytes)),
    };
    drop(bytes);
    std::fs::rename(temp, final_path).map_err(DomainError::internal)?;
    Ok(written)
}

/// Writes `bytes` as the file at `final_path` (through a temporary file).
pub fn write(final_path: &Path, bytes: &[u8]) -> DomainResult<Written> {
    prepare(final_path)?;
    let temp = temporary(final_path);
    std::fs::write(&temp, bytes).map_err(DomainError::internal)?;
    commit(&temp, final_path)
}

/// Creates the file's folder.
pub fn prepare(final_path: &Path) -> DomainResult<()> {
    if let Some(dir) = final_path.parent() {
        std::fs::create_dir_all(dir).map_err(DomainError::internal)?;
    }
    Ok(())
}

/// A file name safe on every system: the characters Windows refuses become "_".
pub fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let d = Path::new("/data");
        assert_eq!(
            absolute(d, "reports/3/17.docx").unwrap(),
            Path::new("/data/reports/3/17.docx")
        );
        assert!(absolute(d, "reports/../songnuan.db").is_err());
        assert!(absolute(d, "/etc/passwd").is_err());
        assert!(absolute(d, "dev-secret.key").is_err());
        assert_eq!(safe_name("a/b:c*?.docx"), "a_b_c__.docx");
    }
}
