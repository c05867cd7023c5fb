"""The README's code tour runs as written, and its two commands are the ones CI and the main-job test use."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks, "README.md has no python block"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_readme_names_the_two_commands():
    commands = re.findall(r"```bash\n(.*?)```", README, re.S)
    assert 'pip install -e ".[examples]" && python -m chainrule.examples.digits\n' in commands
    assert 'pip install -e ".[test]" && python -m pytest\n' in commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -q -e ".[test]"' in ci and "python -m pytest" in ci
