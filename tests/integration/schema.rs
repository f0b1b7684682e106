//! The checked-in JSON Schema is `coder schema`'s output, and it agrees with the checker on
//! the fixtures.

use coder::diag::SourceFile;
use coder::parse::{SpecFormat, parse_document};

use crate::{fixture_dir, root};

fn schema_json() -> serde_json::Value {
    serde_json::from_str(&coder::model::schema::json_schema()).expect("schema is JSON")
}

fn fixture_as_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read");
    let format = SpecFormat::from_path(path).expect("spec");
    parse_document(&SourceFile::new("f", text), format)
        .expect("parses")
        .to_json()
}

#[test]
fn checked_in_schema_is_current() {
    let checked_in = std::fs::read_to_string(root().join("schema/coder.schema.json"))
        .expect("schema/coder.schema.json");
    assert!(
        checked_in == coder::model::schema::json_schema(),
        "schema/coder.schema.json is stale: run `cargo run -- schema > schema/coder.schema.json`"
    );
}

#[test]
fn every_valid_fixture_validates_against_the_schema() {
    let validator = jsonschema::validator_for(&schema_json()).expect("schema compiles");
    let mut checked = 0;
    for entry in std::fs::read_dir(fixture_dir().join("ok")).expect("ok dir") {
        let path = entry.expect("entry").path();
        let errors: Vec<String> = validator
            .iter_errors(&fixture_as_json(&path))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert!(checked >= 5);
}

#[test]
fn shape_errors_are_schema_errors_too() {
    // A spec the checker rejects for its shape must not look valid to editors.
    let validator = jsonschema::validator_for(&schema_json()).expect("schema compiles");
    for name in [
        "C0101-unknown-key.yml",
        "C0102-wrong-type.yml",
        "C0103-missing-field.yml",
        "C0104-unknown-trigger-type.yml",
        "C0105-unknown-step-type.yml",
        "C0106-unknown-role.yml",
        "C0107-unknown-provider.yml",
        "C0108-unsupported-version.yml",
        "C0109-invalid-id.yml",
        "C0110-empty-steps.yml",
        "C0221-budget-too-large.yml",
    ] {
        let instance = fixture_as_json(&fixture_dir().join(name));
        assert!(
            !validator.is_valid(&instance),
            "{name} validates against the schema"
        );
    }
}
