"""`samenzorg client …` and `samenzorg user …`: registering apps and people, secrets never on argv."""
from __future__ import annotations

import json

import pytest
from joserfc.jwk import KeySet, RSAKey
from processes import run_cli

from gateway.cli import main


@pytest.fixture
def cli(settings, network, monkeypatch, capsys):
    monkeypatch.setenv("SAMENZORG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAMENZORG_VAR_DIR", settings.var_dir)

    def run(*args):
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


def test_registering_apps_of_each_kind_and_listing_them(cli, monkeypatch, tmp_path):
    code, out, _ = cli("client", "add", "--name", "Familieportaal", "--redirect-uri", "https://portaal.example/cb",
                       "--public", "--client-id", "portaal")
    assert code == 0 and out.strip() == "portaal"
    monkeypatch.setenv("APP_SECRET", "a-long-enough-secret-value")
    code, out, _ = cli("client", "add", "--name", "Zorgapp", "--redirect-uri", "https://zorgapp.example/cb",
                       "--secret-from-env", "APP_SECRET")
    assert code == 0 and out.strip()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(KeySet([RSAKey.generate_key(2048, parameters={"kid": "k"})]).as_dict(private=False)))
    code, out, _ = cli("client", "add", "--name", "ECD", "--jwks-file", str(jwks), "--scope", "system/*.rs",
                       "--client-id", "ecd")
    assert code == 0
    code, out, _ = cli("client", "list")
    lines = {line.split("\t")[0]: line.split("\t") for line in out.strip().splitlines()}
    assert lines["portaal"][2:4] == ["none", "authorization_code refresh_token"]
    assert lines["ecd"][2:5] == ["private_key_jwt", "client_credentials", "system/*.rs"]
    assert "a-long-enough-secret-value" not in out


@pytest.mark.parametrize("args, says", [
    (["--public", "--secret-from-env", "X"], "not allowed with"),
    (["--secret-from-env", "UNSET_SECRET_VAR"], "UNSET_SECRET_VAR"),
    (["--public", "--grant", "client_credentials"], "public client"),
    (["--public", "--redirect-uri", "portaal.example/cb"], "absolute"),
])
def test_a_client_that_cannot_work_is_refused_with_a_reason(cli, args, says, capsys):
    base = ["client", "add", "--name", "X"] + ([] if "--redirect-uri" in args else ["--redirect-uri", "https://x/cb"])
    try:
        code, out, err = cli(*base, *args)
    except SystemExit as exc:  # argparse refuses mutually exclusive options itself
        code, err = exc.code, capsys.readouterr().err
    assert code != 0 and says in err


def test_adding_linking_listing_and_disabling_a_person(cli, monkeypatch):
    monkeypatch.setenv("ELS_PASSWORD", "a good password")
    assert cli("user", "add", "els", "--name", "Els Bosman", "--password-from-env", "ELS_PASSWORD")[0] == 0
    code, out, _ = cli("user", "link", "els", "RelatedPerson/els-ma")
    assert code == 0 and "Anna Bosman" in out and "patient ma" in out
    assert cli("user", "link", "els", "RelatedPerson/els-pa")[0] == 0
    code, _, err = cli("user", "link", "els", "RelatedPerson/nobody")
    assert code == 1 and "RelatedPerson/nobody" in err
    code, _, err = cli("user", "link", "els", "Organization/x")
    assert code == 1
    code, out, _ = cli("user", "list")
    assert "els\tEls Bosman" in out and "RelatedPerson/els-ma (Anna Bosman)" in out and "Jan Bosman" in out
    assert cli("user", "disable", "els")[0] == 0
    assert "disabled" in cli("user", "list")[1]
    code, _, err = cli("user", "add", "els", "--password-from-env", "ELS_PASSWORD")
    assert code == 1 and "exists" in err


def test_the_command_line_registers_a_client_in_a_real_process(settings, network, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SAMENZORG_DATABASE_URL": settings.database_url,
           "SAMENZORG_VAR_DIR": settings.var_dir}
    done = run_cli("client", "add", "--name", "Portaal", "--redirect-uri", "https://p.example/cb", "--public",
                   env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in run_cli("client", "list", env=env, cwd=tmp_path).stdout
