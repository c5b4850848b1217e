"""The configuration reference and the sample guildhall.conf both follow the table in src/config.c."""
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTING = re.compile(r"^(#?)([a-z_]+) =(?: (.*))?$")   # "#key = default" (commented) or "key = value"


def config_table(stack) -> dict[str, str]:
    docs = subprocess.run([f"{stack.bin_dir}/guildhalld", "--print-config-docs"], capture_output=True,
                          text=True, check=True).stdout
    return dict(re.findall(r"^\| `([a-z_]+)` \| `(.*?)` \|", docs, re.M))


def test_configuration_doc_matches_the_config_table(stack):
    generated = subprocess.run([f"{stack.bin_dir}/guildhalld", "--print-config-docs"], capture_output=True,
                               text=True, check=True).stdout
    committed = (REPO / "docs" / "configuration.md").read_text()
    assert committed == generated, "run: src/guildhalld --print-config-docs > docs/configuration.md"


def test_the_sample_configuration_lists_every_setting_once_with_its_real_default(stack, tmp_path):
    """etc/guildhall.conf.in with its path filled in as make does (from the binary's own sql_dir),
    against the binary's config table."""
    table = config_table(stack)
    assert len(table) > 40 and table["sql_dir"].endswith("/sql")
    sample = tmp_path / "guildhall.conf"
    sample.write_text((REPO / "etc" / "guildhall.conf.in").read_text()
                      .replace("@pkgdatadir@", table["sql_dir"][:-len("/sql")]))
    seen, problems = {}, []
    for n, line in enumerate(sample.read_text().splitlines(), 1):
        m = SETTING.match(line)
        if not m:
            if line and not line.startswith("# ") and line != "#":
                problems.append(f"line {n}: neither a setting nor a '# ' comment: {line!r}")
            continue
        commented, key, value = m.group(1), m.group(2), m.group(3) or ""
        if key not in table:
            problems.append(f"line {n}: {key} is not a setting")
        elif key in seen:
            problems.append(f"line {n}: {key} again (first on line {seen[key]})")
        elif commented and value != table[key]:
            problems.append(f"line {n}: {key} shows {value!r} but its default is {table[key]!r}")
        seen.setdefault(key, n)
    problems += [f"{key} is missing" for key in table if key not in seen]
    assert not problems, "\n".join(problems)
    check = subprocess.run([f"{stack.bin_dir}/guildhalld", "-t", "-c", str(sample)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_check_config_refuses_a_bad_file_without_starting(stack, tmp_path):
    bad = tmp_path / "guildhall.conf"
    bad.write_text("workers = many\n")
    check = subprocess.run([f"{stack.bin_dir}/guildhalld", "-t", "-c", str(bad)], capture_output=True, text=True,
                           timeout=10)
    assert check.returncode == 2 and "workers" in check.stderr
