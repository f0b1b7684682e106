"""`coder lsp` driven by an outside client: pytest-lsp (pygls underneath), which also checks
that what the server sends matches the capabilities the client declared.

Run by tests/integration/editor.rs with CODER_BIN (the coder binary) and CODER_LSP_ROOT (a
repository with a configuration deploying to `staging`) in the environment.
"""

import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = pathlib.Path(os.environ["CODER_LSP_ROOT"])
SPEC_URI = (ROOT / ".coder" / "workflows" / "nightly.yml").as_uri()
SPEC = """name: Nightly
triggers:
  - type: cron
    cron: "0 3 * * 1"
    timezone: Europe/Berlin
steps:
  - type: agent
    role: implmenter
    goal: Fix the flaky test
  - type: deploy
    target: staging
"""


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[os.environ["CODER_BIN"], "lsp"]),
)
async def client(lsp_client: LanguageClient):
    capabilities = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            hover=types.HoverClientCapabilities(
                content_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText]
            ),
            completion=types.CompletionClientCapabilities(),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                related_information=True, version_support=True
            ),
        )
    )
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=capabilities, root_uri=ROOT.as_uri())
    )
    yield
    # Teardown: `shutdown`, then `exit`, and the server process must end.
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_open_change_complete_hover(client: LanguageClient):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=SPEC_URI, language_id="yaml", version=1, text=SPEC
            )
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    found = client.diagnostics[SPEC_URI]
    assert [d.code for d in found] == ["C0106"], found
    assert found[0].range.start == types.Position(line=7, character=10)
    assert found[0].severity == types.DiagnosticSeverity.Error
    assert "did you mean `implementer`?" in found[0].message

    # Fixed in the buffer, unsaved: the problem is cleared.
    fixed = SPEC.replace("implmenter", "implementer")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=SPEC_URI, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[SPEC_URI]) == []

    # Completion: the deploy targets the configuration names, after `target: `.
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=SPEC_URI),
            position=types.Position(line=10, character=12),
        )
    )
    items = result if isinstance(result, list) else result.items
    labels = {item.label for item in items}
    assert {"preview", "prod", "staging"} <= labels, labels

    # Hover: a key's documentation, and the cron's next firings in its zone.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=SPEC_URI),
            position=types.Position(line=8, character=5),
        )
    )
    assert hover is not None and hover.contents.value.startswith("**goal**"), hover
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=SPEC_URI),
            position=types.Position(line=3, character=12),
        )
    )
    assert hover is not None and "in Europe/Berlin fires next at" in hover.contents.value
    assert hover.contents.value.count("\n- Mon ") == 5, hover.contents.value
