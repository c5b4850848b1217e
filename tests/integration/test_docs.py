"""The configuration reference is generated from the table in src/config.c: it must be current."""
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_configuration_doc_matches_the_config_table(stack):
    generated = subprocess.run([f"{stack.bin_dir}/guildhalld", "--print-config-docs"], capture_output=True,
                               text=True, check=True).stdout
    committed = (REPO / "docs" / "configuration.md").read_text()
    assert committed == generated, "run: src/guildhalld --print-config-docs > docs/configuration.md"
