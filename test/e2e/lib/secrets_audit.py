#!/usr/bin/env python3
"""secrets_audit.py: no secret the tests seed reaches a log, an Event or a status (issue #25).

  secrets_audit.py seeds            < secrets.json  > seeds   (one scenario's Secrets)
  secrets_audit.py check AUDIT_DIR SERVERS_ENV                 (TAP; exit 1 on a leak)

Each e2e scenario that runs the operator (test/e2e/lib/operator.bash) saves,
when it ends, under $CFLUX_AUDIT_DIR/<scenario>/: the operator's log (every
run, every pod, at debug level when it runs on this host), its namespaces'
Events, the status of every object of ours, and `seeds`: the secret values
of the Secrets the scenario created (`seeds` mode, from `kubectl get
secrets -o json`).  `check` adds the secrets of the test servers
(servers.env: passwords, tokens, the S3 secret key, the Azurite account key,
the private keys) and looks for every one of them in every scenario's
evidence.  A leak is reported with the scenario, the file and the secret's
name, never its value.

What counts as a secret: a Secret key named like a credential (password,
token, secret key, private key, identity, SAS or account key, the
protected settings Azure's agent writes), not certificates, public keys,
known_hosts or user names.  A multi-line value (a PEM key) is searched for
line by line: each body line of 16 characters or more.
"""
import base64
import json
import os
import re
import sys

SECRET_KEY = re.compile(r"(password|passphrase|token|secret|identity|privatekey|private_key|"
                        r"saskey|accountkey|sastoken|\.key$|^key$|bearer)", re.I)
NOT_SECRET = re.compile(r"(\.crt$|\.pub$|^ca|known_hosts|^user(name)?$|accesskey$|\.sshpub$)", re.I)
# Types whose data is not a credential the tests chose.
SKIP_TYPES = {"helm.sh/release.v1", "kubernetes.io/service-account-token"}
MIN = 8


def needles(label, value):
    """(label, needle) pairs for one secret value."""
    value = value.strip()
    lines = [ln.strip() for ln in value.splitlines()]
    if len(lines) <= 1:
        if len(value) >= MIN:
            yield label, value
        return
    for ln in lines:
        if len(ln) >= 16 and not ln.startswith("-----") and ":" not in ln[:24]:
            yield label, ln


def seeds():
    doc = json.load(sys.stdin)
    for s in doc.get("items", []):
        if s.get("type") in SKIP_TYPES:
            continue
        name = s["metadata"]["name"]
        for k, v in sorted((s.get("data") or {}).items()):
            if not SECRET_KEY.search(k) or NOT_SECRET.search(k):
                continue
            try:
                text = base64.b64decode(v).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                continue
            for pair in needles("Secret %s/%s" % (name, k), text):
                print("%s\t%s" % pair)


def server_seeds(env_file):
    out = []
    env = {}
    for line in open(env_file):
        m = re.match(r"export (\w+)='(.*)'$", line.strip())
        if m:
            env[m.group(1)] = m.group(2)
    for k, v in sorted(env.items()):
        if re.search(r"(PASSWORD|PASSPHRASE|SECRET_KEY|AZBLOB_KEY)$", k):
            out.extend(needles(k, v))
        elif re.search(r"(_CA_KEY|CLIENT_KEY|^SSH_KEY_\w+)$", k) and os.path.isfile(v):
            out.extend(needles(k + " (the private key)", open(v).read()))
    return out


def check(audit_dir, env_file):
    common = server_seeds(env_file) if os.path.isfile(env_file) else []
    scenarios = sorted(d for d in os.listdir(audit_dir)
                       if os.path.isdir(os.path.join(audit_dir, d))) if os.path.isdir(audit_dir) else []
    n = 0
    failed = 0
    if not scenarios:
        print("1..0 # SKIP no scenario saved its evidence")
        return 0
    for sc in scenarios:
        d = os.path.join(audit_dir, sc)
        own = []
        if os.path.isfile(os.path.join(d, "seeds")):
            for line in open(os.path.join(d, "seeds"), encoding="utf-8", errors="replace"):
                label, _, needle = line.rstrip("\n").partition("\t")
                if len(needle) >= MIN:
                    own.append((label, needle))
        evidence = []
        for f in sorted(os.listdir(d)):
            if f != "seeds":
                evidence.append((f, open(os.path.join(d, f), encoding="utf-8", errors="replace").read()))
        leaks = []
        for label, needle in common + own:
            for f, text in evidence:
                if needle in text:
                    leaks.append("%s in %s" % (label, f))
        n += 1
        if leaks:
            failed += 1
            print("not ok %d - %s: no seeded secret in its log, Events or statuses" % (n, sc))
            for leak in sorted(set(leaks)):
                print("#   leaked: %s" % leak)
        else:
            print("ok %d - %s: none of %d seeded secrets in its log, Events or statuses (%d bytes)"
                  % (n, sc, len(common) + len(own), sum(len(t) for _, t in evidence)))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["seeds"]:
        seeds()
    elif sys.argv[1:2] == ["check"] and len(sys.argv) == 4:
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
