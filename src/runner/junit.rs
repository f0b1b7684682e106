//! JUnit reports a job's command steps wrote (`[report] junit` globs, repo-relative): copied
//! into the run directory at `finish` and counted across the run. Only reports written during
//! the job count: `begin` stamps the ones already there. Reports are outputs, never part of
//! the run's patch or its path policy (see [`super::begin::outside_the_patch`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::test_report::{TestCounts, parse_junit};

/// Where the copies live in the run directory, one folder per job.
pub const JUNIT_DIR: &str = "reports/junit";

/// A report file as it was when a job began: a file unchanged since then is not this run's
/// result (a report left from an earlier run, a committed one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportStamp {
    pub path: String,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: u64,
    pub len: u64,
}

fn stamp_of(checkout: &Path, relative: &Path) -> Option<ReportStamp> {
    let meta = std::fs::metadata(checkout.join(relative)).ok()?;
    let modified_ns = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos()
        .try_into()
        .ok()?;
    Some(ReportStamp {
        path: relative.to_string_lossy().into_owned(),
        modified_ns,
        len: meta.len(),
    })
}

/// The report files `globs` match in `checkout` now, with their stamps.
pub fn stamps(checkout: &Path, globs: &[String]) -> Result<Vec<ReportStamp>, String> {
    Ok(matching(checkout, globs)?
        .iter()
        .filter_map(|relative| stamp_of(checkout, relative))
        .collect())
}

/// Repo-relative files `globs` match in `checkout`, sorted.
fn matching(checkout: &Path, globs: &[String]) -> Result<Vec<PathBuf>, String> {
    if globs.is_empty() {
        return Ok(Vec::new());
    }
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in globs {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("`[report] junit` pattern `{pattern}`: {e}"))?;
        builder.add(glob);
    }
    let set = builder
        .build()
        .map_err(|e| format!("`[report] junit`: {e}"))?;
    let mut found = Vec::new();
    walk(checkout, Path::new(""), &set, &mut found);
    found.sort();
    Ok(found)
}

/// Copy the reports `globs` match in `checkout` and written during this job (not as they were
/// at its start, `before`) into `<run_dir>/reports/junit/<job>/` (replacing that job's
/// earlier copies), then count every job's copies. `None` when the run has no report at all.
pub fn collect(
    checkout: &Path,
    run_dir: &Path,
    job_id: &str,
    globs: &[String],
    before: &[ReportStamp],
) -> Result<Option<TestCounts>, String> {
    if !globs.is_empty() {
        let found: Vec<PathBuf> = matching(checkout, globs)?
            .into_iter()
            .filter(|relative| {
                stamp_of(checkout, relative).is_none_or(|now| !before.contains(&now))
            })
            .collect();
        let job_dir = run_dir.join(JUNIT_DIR).join(job_id);
        let _ = std::fs::remove_dir_all(&job_dir);
        for (index, relative) in found.iter().enumerate() {
            let bytes = std::fs::read(checkout.join(relative))
                .map_err(|e| format!("cannot read {}: {e}", relative.display()))?;
            // Numbered, so two reports named `junit.xml` in different folders both stay.
            let name = relative
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            crate::fs::atomic_write(&job_dir.join(format!("{index}-{name}")), &bytes)?;
        }
    }
    let mut total: Option<TestCounts> = None;
    let Ok(jobs) = std::fs::read_dir(run_dir.join(JUNIT_DIR)) else {
        return Ok(None);
    };
    for job in jobs.flatten() {
        let Ok(files) = std::fs::read_dir(job.path()) else {
            continue;
        };
        for file in files.flatten() {
            let bytes = std::fs::read(file.path())
                .map_err(|e| format!("cannot read {}: {e}", file.path().display()))?;
            // A file that is no JUnit report counts nothing rather than failing the job.
            if let Ok(counts) = parse_junit(&bytes) {
                total = Some(total.unwrap_or_default() + counts);
            }
        }
    }
    Ok(total)
}

/// The failing test cases of the reports `globs` match in `checkout` that were written since
/// the job began (`before`): what a step that runs on a failure is told failed.
pub fn failing_tests(
    checkout: &Path,
    globs: &[String],
    before: &[ReportStamp],
) -> Result<Vec<String>, String> {
    let mut failing = Vec::new();
    for relative in matching(checkout, globs)? {
        if stamp_of(checkout, &relative).is_some_and(|now| before.contains(&now)) {
            continue;
        }
        if let Ok(bytes) = std::fs::read(checkout.join(&relative)) {
            failing.extend(super::test_report::failing_in_junit(&bytes));
        }
    }
    Ok(failing)
}

/// Repo-relative files under `dir` that `set` matches; `.git` is skipped, symlinks are not
/// followed.
fn walk(root: &Path, dir: &Path, set: &globset::GlobSet, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let relative = dir.join(entry.file_name());
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && entry.file_name() != ".git" {
            walk(root, &relative, set, found);
        } else if kind.is_file() && set.is_match(&relative) {
            found.push(relative);
        }
    }
}
