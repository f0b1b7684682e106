//! No GitHub `${{ … }}` expression anywhere in a spec.

use super::CheckCx;
use crate::diag::{Code, Diagnostic};
use crate::model::Spanned;

pub fn check(cx: &mut CheckCx<'_>) {
    let mut found = Vec::new();
    cx.tree.visit_strings(&mut |text, span| {
        // `find(char)` is a memchr; most strings have no `$` at all.
        let Some(dollar) = text.find('$') else {
            return;
        };
        if let Some(start) = text[dollar..].find("${{").map(|i| dollar + i) {
            let end = text[start..]
                .find("}}")
                .map_or(text.len(), |e| start + e + 2);
            found.push((Spanned::new(text.to_string(), span), start..end));
        }
    });
    for (value, range) in found {
        let expr = &value.value[range.clone()];
        let span = super::sub_span(cx.file, &value, range.clone());
        cx.report(
            Diagnostic::new(
                Code::GithubExpression,
                format!("GitHub expression `{expr}` in a spec string"),
            )
            .at(span, "evaluated by GitHub before any shell sees it")
            .help("specs are portable and never splice event data into commands; use a shell variable such as `$VAR` instead"),
        );
    }
}
