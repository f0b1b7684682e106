//! The ignore rules coder-step's own git reads the working tree with: only those the run
//! started with. An agent can write the working tree's `.gitignore` files and
//! `.git/info/exclude`; were those read, a line it added (or a new `.gitignore` holding `*`
//! beside the file) would hide a new file from the path policy and from the patch.
//!
//! At the run's start ([`record`]), the `.gitignore` files of the tree the run's changes are
//! measured from (read from git's object store, never from the working tree) are flattened
//! into one list of patterns relative to the repository's root ([`flatten`]), after the
//! repository's `.git/info/exclude` as it was then, and kept in the run directory, where the
//! sandbox keeps the agent out. From then on untracked files are listed with that list alone
//! (`git ls-files --others --exclude-from`, which still skips ignored folders without walking
//! them).

use std::path::{Path, PathBuf};

use super::{git, run_dir};

/// The run's ignore rules, in the run directory: one gitignore file relative to the
/// repository's root.
pub const RULES_FILE: &str = "before/ignore";

/// The run's ignore rules file, written at the run's start if it is not there yet (a run
/// directory from an older coder-step gets one the first time it is needed).
pub fn record(run_dir: &Path, checkout: &Path, base_sha: &str) -> Result<PathBuf, String> {
    let file = run_dir.join(RULES_FILE);
    if file.is_file() {
        return Ok(file);
    }
    let mut rules = local_excludes(checkout)?;
    if !rules.is_empty() && !rules.ends_with(b"\n") {
        rules.push(b'\n');
    }
    let base = run_dir::changes_from(run_dir, base_sha);
    rules.extend(rules_of_tree(checkout, &base)?);
    crate::fs::atomic_write(&file, &rules)?;
    Ok(file)
}

/// The tree of the working tree as it is now (see [`git::worktree_tree`]), its untracked files
/// judged by the run's ignore rules alone.
pub fn worktree_tree(
    run_dir: &Path,
    checkout: &Path,
    base_sha: &str,
    outside: &[String],
) -> Result<String, String> {
    let rules = record(run_dir, checkout, base_sha)?;
    let scratch = run_dir.join(run_dir::SCRATCH);
    let tree = git::worktree_tree_excluding(checkout, &scratch, outside, &rules);
    let _ = std::fs::remove_dir_all(&scratch);
    tree
}

/// The repository's `.git/info/exclude` (empty when there is none).
fn local_excludes(checkout: &Path) -> Result<Vec<u8>, String> {
    let path = git::run(
        checkout,
        &[
            "rev-parse",
            "--path-format=absolute",
            "--git-path",
            "info/exclude",
        ],
        "find the repository's info/exclude",
    )?;
    match std::fs::read(&path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {path}: {e}")),
    }
}

/// Every `.gitignore` of `tree`, flattened into one list relative to the root: shallower
/// files first, so a deeper file's patterns win as they do in git.
pub fn rules_of_tree(checkout: &Path, tree: &str) -> Result<Vec<u8>, String> {
    let listing = git::output(
        git::command(checkout).args(["ls-tree", "-r", "-z", "--full-tree", tree]),
        "list the base tree's .gitignore files",
    )?;
    // `<mode> blob <sha>\t<path>`: regular files only (git does not follow a `.gitignore`
    // that is a symbolic link).
    let mut files: Vec<(Vec<u8>, String)> = listing
        .split(|b| *b == 0)
        .filter_map(|entry| {
            let tab = entry.iter().position(|b| *b == b'\t')?;
            let (meta, path) = (&entry[..tab], &entry[tab + 1..]);
            let mut meta = meta.split(|b| *b == b' ');
            let mode = meta.next()?;
            let sha = std::str::from_utf8(meta.nth(1)?).ok()?;
            let is_file = mode == b"100644" || mode == b"100755";
            let dir = path.strip_suffix(b".gitignore")?;
            (is_file && (dir.is_empty() || dir.ends_with(b"/"))).then(|| {
                (
                    dir.strip_suffix(b"/").unwrap_or(dir).to_vec(),
                    sha.to_string(),
                )
            })
        })
        .collect();
    if files.is_empty() {
        return Ok(Vec::new());
    }
    files.sort_by(|(a, _), (b, _)| depth(a).cmp(&depth(b)).then_with(|| a.cmp(b)));
    let shas: String = files.iter().map(|(_, sha)| format!("{sha}\n")).collect();
    let blobs = git::output_with_input(
        git::command(checkout).args(["cat-file", "--batch"]),
        shas.as_bytes(),
        "read the base tree's .gitignore files",
    )?;
    let contents = parse_batch(&blobs)?;
    let mut rules = Vec::new();
    for ((dir, _), content) in files.iter().zip(contents) {
        flatten(dir, content, &mut rules);
    }
    Ok(rules)
}

fn depth(dir: &[u8]) -> usize {
    if dir.is_empty() {
        0
    } else {
        1 + dir.iter().filter(|b| **b == b'/').count()
    }
}

/// The objects `git cat-file --batch` printed: `<sha> <type> <size>\n<content>\n` each.
fn parse_batch(mut out: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut contents = Vec::new();
    while !out.is_empty() {
        let newline = out
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("git cat-file printed a truncated header")?;
        let header = String::from_utf8_lossy(&out[..newline]);
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("git cat-file could not read an object: {header}"))?;
        let body = out
            .get(newline + 1..newline + 1 + size)
            .ok_or("git cat-file printed a truncated object")?;
        contents.push(body);
        out = out.get(newline + 2 + size..).unwrap_or_default();
    }
    Ok(contents)
}

/// Append the patterns of the `.gitignore` in `dir` (relative to the root, `""` for the root
/// itself) to `out`, rewritten to mean the same relative to the root: a pattern with a slash
/// before its end is anchored to `dir` (`dir/<pattern>`), any other matches at any depth
/// below it (`dir/**/<pattern>`); negation, escapes and trailing slashes are kept, comments
/// and blank lines dropped. A `.gitignore` in a folder whose name holds a line break cannot
/// be written as a pattern and is left out (it can only hide files, never show them).
pub fn flatten(dir: &[u8], content: &[u8], out: &mut Vec<u8>) {
    if dir.contains(&b'\n') {
        return;
    }
    let prefix = escape_glob(dir);
    let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
    for line in content.split(|b| *b == b'\n') {
        // git reads each line as a C string, a CRLF ending as LF.
        let line = line.split(|b| *b == 0).next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'#') {
            continue;
        }
        let line = trim_trailing_spaces(line);
        if line.is_empty() {
            continue;
        }
        if dir.is_empty() {
            out.extend_from_slice(line);
            out.push(b'\n');
            continue;
        }
        let (negation, pattern) = match line.strip_prefix(b"!") {
            Some(rest) => (&b"!"[..], rest),
            None => (&b""[..], line),
        };
        let body = pattern.strip_suffix(b"/").unwrap_or(pattern);
        out.extend_from_slice(negation);
        out.extend_from_slice(&prefix);
        if let Some(rooted) = pattern.strip_prefix(b"/") {
            out.push(b'/');
            out.extend_from_slice(rooted);
        } else if body.contains(&b'/') {
            out.push(b'/');
            out.extend_from_slice(pattern);
        } else {
            out.extend_from_slice(b"/**/");
            out.extend_from_slice(pattern);
        }
        out.push(b'\n');
    }
}

/// `dir` as a glob matching itself alone: wildcard characters and the backslash escaped, and
/// a leading `!` or `#` (negation, comment) too.
fn escape_glob(dir: &[u8]) -> Vec<u8> {
    let mut escaped = Vec::with_capacity(dir.len());
    for (i, b) in dir.iter().enumerate() {
        if matches!(b, b'\\' | b'*' | b'?' | b'[') || (i == 0 && matches!(b, b'!' | b'#')) {
            escaped.push(b'\\');
        }
        escaped.push(*b);
    }
    escaped
}

/// Trailing spaces dropped unless escaped with a backslash, as git's `trim_trailing_spaces`
/// does: the pattern's end must be found before its slashes are looked at.
fn trim_trailing_spaces(line: &[u8]) -> &[u8] {
    let mut last_space = None;
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            b' ' => {
                last_space.get_or_insert(i);
            }
            b'\\' => {
                i += 1;
                if i == line.len() {
                    return line;
                }
                last_space = None;
            }
            _ => last_space = None,
        }
        i += 1;
    }
    &line[..last_space.unwrap_or(line.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn flat(dir: &str, content: &str) -> String {
        let mut out = Vec::new();
        flatten(dir.as_bytes(), content.as_bytes(), &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn the_roots_patterns_stay_as_they_are() {
        assert_eq!(
            flat("", "# built\ntarget/\n\n/Cargo.lock\n!keep.o\n*.o  \n"),
            "target/\n/Cargo.lock\n!keep.o\n*.o\n"
        );
    }

    #[test]
    fn a_folders_patterns_are_anchored_to_it() {
        assert_eq!(
            flat(
                "web/app",
                "node_modules/\n/dist\nsrc/gen\n!src/gen/keep.ts\n*.log\n**/cache\n"
            ),
            "web/app/**/node_modules/\nweb/app/dist\nweb/app/src/gen\n!web/app/src/gen/keep.ts\nweb/app/**/*.log\nweb/app/**/cache\n"
        );
    }

    #[test]
    fn escapes_comments_and_spaces_are_kept_as_git_reads_them() {
        // An escaped `#` or `!` is a pattern; an escaped trailing space stays.
        assert_eq!(
            flat("d", "\\#notes\n\\!bang\nspace\\ \nx/ \r\n"),
            "d/**/\\#notes\nd/**/\\!bang\nd/**/space\\ \nd/**/x/\n"
        );
        // A byte-order mark, a NUL ending the line as git's C strings do.
        assert_eq!(flat("", "\u{feff}a\nb\0/c\n"), "a\nb\n");
    }

    #[test]
    fn a_folder_name_with_glob_characters_matches_itself_only() {
        assert_eq!(flat("[x]*?", "a\n"), "\\[x]\\*\\?/**/a\n");
        assert_eq!(flat("!d", "a\n"), "\\!d/**/a\n");
        assert_eq!(flat("#d", "!a\n"), "!\\#d/**/a\n");
        assert_eq!(flat("a\nb", "x\n"), "");
    }

    #[test]
    fn trailing_spaces_are_trimmed_unless_escaped() {
        assert_eq!(trim_trailing_spaces(b"a  "), b"a");
        assert_eq!(trim_trailing_spaces(b"a\\  "), b"a\\ ");
        assert_eq!(trim_trailing_spaces(b"a\\"), b"a\\");
        assert_eq!(trim_trailing_spaces(b"a b"), b"a b");
        assert_eq!(trim_trailing_spaces(b"   "), b"");
    }

    #[test]
    fn cat_file_batch_output_parses() {
        let out = b"aaa blob 3\nab\n\nbbb blob 0\n\n";
        assert_eq!(parse_batch(out), Ok(vec![&b"ab\n"[..], &b""[..]]));
        assert!(parse_batch(b"aaa blob 9\nab\n").is_err());
        assert!(parse_batch(b"ccc missing\n").is_err());
    }

    fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// The untracked files git lists in `repo`: with its own per-folder rules, or with `rules`.
    fn untracked(repo: &Path, rules: Option<&Path>) -> Vec<String> {
        let mut args = vec!["ls-files".to_string(), "-z".into(), "--others".into()];
        match rules {
            Some(file) => args.push(format!("--exclude-from={}", file.display())),
            None => args.push("--exclude-per-directory=.gitignore".into()),
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut files: Vec<String> = git(repo, &args)
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        files.sort();
        files
    }

    #[test]
    fn the_base_trees_rules_are_read_from_git_not_the_working_tree() {
        let repo = tempfile::tempdir().expect("tempdir");
        let root = repo.path();
        git(root, &["init", "-q"]);
        write(root, ".gitignore", "target/\n");
        write(root, "web/.gitignore", "node_modules/\n!keep.log\n*.log\n");
        write(root, "web/deep/.gitignore", "!keep.log\n");
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "init"]);
        let tree = String::from_utf8(git(root, &["rev-parse", "HEAD^{tree}"])).expect("sha");
        // Edited after the commit: not the base's rules.
        write(root, "web/.gitignore", "*\n");
        let rules = rules_of_tree(root, tree.trim()).expect("rules");
        assert_eq!(
            String::from_utf8(rules).expect("utf-8"),
            "target/\nweb/**/node_modules/\n!web/**/keep.log\nweb/**/*.log\n!web/deep/**/keep.log\n"
        );
    }

    #[test]
    fn ignored_folders_are_not_walked() {
        use std::os::unix::fs::PermissionsExt;
        let repo = tempfile::tempdir().expect("tempdir");
        let root = repo.path();
        git(root, &["init", "-q"]);
        write(root, "new.txt", "x\n");
        write(root, "sub/target/locked/a", "x\n");
        let locked = root.join("sub/target/locked");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        let mut rules = Vec::new();
        flatten(b"sub", b"target/\n", &mut rules);
        let file = root.join(".git/flat");
        std::fs::write(&file, &rules).expect("write");
        let out = Command::new("git")
            .current_dir(root)
            .args(["ls-files", "--others", "-z"])
            .arg(format!("--exclude-from={}", file.display()))
            .output()
            .expect("git");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "new.txt\0");
        // Walking into it would have warned that it cannot be opened.
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    }

    mod property {
        use super::*;
        use proptest::prelude::*;

        /// A line of a `.gitignore`, from parts that exercise anchoring, wildcards, negation,
        /// escapes and trailing slashes over the names `a`, `b`, `c`.
        fn line() -> impl Strategy<Value = String> {
            let part = prop_oneof![
                Just("a"),
                Just("b"),
                Just("c"),
                Just("*"),
                Just("**"),
                Just("?"),
                Just("[ab]"),
                Just("a*"),
                Just("\\a"),
            ];
            (
                prop::bool::weighted(0.25),
                prop::bool::weighted(0.3),
                prop::collection::vec(part, 1..4),
                prop::bool::weighted(0.3),
                prop::sample::select(vec!["", " ", "  ", "\r", "\\ "]),
            )
                .prop_map(|(negate, rooted, parts, dir_only, end)| {
                    format!(
                        "{}{}{}{}{end}",
                        if negate { "!" } else { "" },
                        if rooted { "/" } else { "" },
                        parts.join("/"),
                        if dir_only { "/" } else { "" }
                    )
                })
        }

        fn path() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "ab", "c b"]), 1..5)
                .prop_map(|parts| parts.join("/"))
        }

        fn dir() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "[b]"]), 0..3)
                .prop_map(|parts| parts.join("/"))
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

            /// Flattened, the `.gitignore` files of a tree hide exactly the untracked files
            /// git's own per-folder reading hides.
            #[test]
            fn flattened_rules_list_what_git_lists(
                ignores in prop::collection::btree_map(dir(), prop::collection::vec(line(), 1..5), 1..4),
                files in prop::collection::btree_set(
                    (dir(), path()).prop_map(|(d, p)| if d.is_empty() { p } else { format!("{d}/{p}") }),
                    1..16,
                ),
            ) {
                let repo = tempfile::tempdir().expect("tempdir");
                let root = repo.path();
                git(root, &["init", "-q"]);
                for file in &files {
                    let at = root.join(file);
                    // A path that is a file in one case and a folder in another: keep the first.
                    if at.parent().is_some_and(|p| p.ancestors().any(|a| a.is_file())) || at.exists() {
                        continue;
                    }
                    write(root, file, "x\n");
                }
                let mut dirs: Vec<(&String, &Vec<String>)> = ignores.iter().collect();
                dirs.sort_by_key(|(d, _)| (depth(d.as_bytes()), d.as_str()));
                let mut rules = Vec::new();
                for (dir, lines) in &dirs {
                    let at = root.join(dir);
                    if at.ancestors().any(|a| a.is_file()) {
                        continue;
                    }
                    let content = lines.join("\n") + "\n";
                    std::fs::create_dir_all(&at).expect("mkdir");
                    std::fs::write(at.join(".gitignore"), &content).expect("write");
                    flatten(dir.as_bytes(), content.as_bytes(), &mut rules);
                }
                let file = root.join(".git/flat");
                std::fs::write(&file, &rules).expect("write");
                // The `.gitignore` files are themselves untracked files of both listings.
                prop_assert_eq!(
                    untracked(root, Some(&file)),
                    untracked(root, None),
                    "rules:\n{}", String::from_utf8_lossy(&rules)
                );
            }
        }
    }
}
