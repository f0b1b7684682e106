//! How a generated job gets `coder-step` when the configuration does not say (`[github]
//! install`, `[gitlab] install`): the pinned version's prebuilt archive from this project's
//! releases (`dist-workspace.toml` builds them), verified against its published `.sha256`
//! before anything is unpacked, else `cargo install` where cargo is, else a clear failure.
//! One POSIX sh snippet for both forges, so a job on `image: python:3.12` (no cargo) installs
//! in seconds and a mismatching archive never runs.

/// The variable that replaces the release base URL (a mirror, a loopback server in tests):
/// the folder that holds `v<version>/<archive>`.
pub const RELEASE_URL_VARIABLE: &str = "CODER_STEP_RELEASE_URL";

/// Where releases are published: the `repository` of Cargo.toml, on GitHub releases.
pub const RELEASE_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/releases/download");

/// The version every generated job installs: the compiling one.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The folder the default install puts `bin/coder-step` in, as the shell spells it.
pub const ROOT: &str = "$HOME/.coder-step";

/// The release archive for a target triple, named as `dist` names it (its `.sha256` beside it).
pub fn archive_name(triple: &str) -> String {
    format!("{}-{triple}.tar.gz", env!("CARGO_PKG_NAME"))
}

/// The `cargo install` the snippet falls back to.
pub fn cargo_install() -> String {
    format!(
        "cargo install --locked --root \"{ROOT}\" --version {VERSION} {} --bin coder-step",
        env!("CARGO_PKG_NAME")
    )
}

/// What `coder compile` says the default install does, after "jobs install coder-step".
pub fn describe() -> String {
    format!(
        "{VERSION} from its release archive, checked against the published .sha256:\n  \
         {RELEASE_URL}/v{VERSION}/{}\n\
         ({RELEASE_URL_VARIABLE} names a mirror to download from instead of {RELEASE_URL}),\n\
         else, where there is no archive for the runner and the job has cargo, with\n  {}",
        archive_name("<target>"),
        cargo_install(),
    )
}

/// The shell lines that put `coder-step` in `$HOME/.coder-step/bin` unless it is there
/// already; `key` is the configuration key that replaces them, named when nothing works.
/// In a subshell (`set -eu`, its own variables and temporary folder), whose failure ends
/// the job's script.
pub fn script(key: &str) -> String {
    let package = env!("CARGO_PKG_NAME");
    let cargo = cargo_install();
    let archive = archive_name("$target");
    // `uname -s`/`uname -m` to the triples dist builds (dist-workspace.toml); x86_64 Linux
    // with musl's loader (Alpine) takes the static musl build.
    format!(
        r#"if [ ! -x "{ROOT}/bin/coder-step" ]; then (
  set -eu
  version={VERSION}
  base="${{{RELEASE_URL_VARIABLE}:-{RELEASE_URL}}}/v$version"
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) target=x86_64-unknown-linux-gnu
      if [ -e /lib/ld-musl-x86_64.so.1 ]; then target=x86_64-unknown-linux-musl; fi ;;
    Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-gnu ;;
    Darwin/x86_64) target=x86_64-apple-darwin ;;
    Darwin/arm64) target=aarch64-apple-darwin ;;
    *) target= ;;
  esac
  archive="{archive}"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  fetch() {{
    if command -v curl >/dev/null; then curl -fsSL -o "$2" "$1"
    elif command -v wget >/dev/null; then wget -q -O "$2" "$1"
    else python3 -c 'import sys, urllib.request as u; u.urlretrieve(sys.argv[1], sys.argv[2])' "$1" "$2"
    fi
  }}
  if [ -n "$target" ] && fetch "$base/$archive" "$tmp/$archive" && fetch "$base/$archive.sha256" "$tmp/sha256"; then
    expected="$(head -n 1 "$tmp/sha256" | cut -d ' ' -f 1)"
    actual="$({{ sha256sum 2>/dev/null || shasum -a 256; }} < "$tmp/$archive" | cut -d ' ' -f 1)"
    if [ -z "$expected" ] || [ "$actual" != "$expected" ]; then
      echo "coder-step: $base/$archive does not match its .sha256 ($actual, published $expected): not installing it" >&2
      exit 1
    fi
    tar -xzf "$tmp/$archive" -C "$tmp"
    mkdir -p "{ROOT}/bin"
    mv "$tmp/{package}-$target/coder-step" "{ROOT}/bin/coder-step"
  elif command -v cargo >/dev/null; then
    echo "coder-step: no prebuilt $version for $(uname -s)/$(uname -m) at $base; building it with cargo" >&2
    {cargo}
  else
    echo "coder-step: no prebuilt $version for $(uname -s)/$(uname -m) at $base, and no cargo to build it: set {RELEASE_URL_VARIABLE} to a mirror, or {key} in .coder/config.toml" >&2
    exit 1
  fi
) || exit; fi"#
    )
}
