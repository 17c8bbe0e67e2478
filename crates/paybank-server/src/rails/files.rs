//! Where ACH files live besides the database: a copy of each in `<data_dir>/ach/`, so the files
//! a bank would exchange with paybank can be opened with any tool.

use paybank_store::RailFile;

use crate::app::AppState;

/// Writes each file to `<data_dir>/ach/<name>`. The database holds the authoritative copy, so
/// a failure here is logged, never fatal.
pub fn mirror(state: &AppState, files: &[RailFile]) {
    if files.is_empty() {
        return;
    }
    let dir = state.config.server.data_dir.join("ach");
    if let Err(error) = std::fs::create_dir_all(&dir) {
        tracing::warn!(%error, dir = %dir.display(), "cannot create the ACH file directory");
        return;
    }
    for file in files {
        let path = dir.join(&file.name);
        if let Err(error) = std::fs::write(&path, &file.content) {
            tracing::warn!(%error, path = %path.display(), "cannot write an ACH file copy");
        }
    }
}

/// Whether a name could be one paybank gave a file: no path separators or surprises.
pub fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 120
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('.')
}
