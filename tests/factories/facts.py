"""Every fact the zoo is built from, with where it was read. Ids are cited by each era's facts.json.

'fact' entries were read in the named source; 'assumption' entries could not be checked against a
public source (the Foundries backend is closed) and say so.
"""

from __future__ import annotations

FACTS: dict[str, dict[str, str]] = {
    "tar-go-header": {
        "kind": "fact",
        "source": (
            "foundriesio/fioctl HEAD subcommands/keys/tuf_utils.go saveTufCreds; 8656ae9 rotate_root.go saveTempCreds"
        ),
        "text": (
            "fioctl writes the keys tarball with archive/tar Header{Name, Size} only: mode 0, uid/gid 0, "
            "mtime 0, empty uname/gname, USTAR format, gzip wrapper with an empty header."
        ),
    },
    "tar-go-order": {
        "kind": "fact",
        "source": "foundriesio/fioctl HEAD tuf_utils.go saveTufCreds (for name, val := range creds)",
        "text": "Members are written in Go map iteration order: random, different on every write.",
    },
    "tar-go-no-dirs": {
        "kind": "fact",
        "source": "foundriesio/fioctl HEAD tuf_utils.go GetOfflineCreds",
        "text": (
            "fioctl skips directory entries when reading and keeps every other member by name, so its "
            "rewrite drops directories and keeps all files byte for byte (it never deletes a member)."
        ),
    },
    "tar-gnu-garage": {
        "kind": "fact",
        "source": "foundriesio/fioctl 999cbe5 subcommands/keys/rotate.go (rotation script)",
        "text": (
            "Before Feb 2021 root rotation ran garage-sign in a container and re-packed the repo with 'tar "
            "czf creds tufrepo': GNU tar, directory entries, real modes, owner root."
        ),
    },
    "garage-key-name": {
        "kind": "fact",
        "source": "foundriesio/fioctl 999cbe5 subcommands/keys/rotate.go",
        "text": (
            "garage-sign era root keys are named 'offline-root-' + Python datetime.now().isoformat(), e.g. "
            "tufrepo/keys/offline-root-2020-06-15T12:34:56.123456.{pub,sec}; expiry now+2 years as "
            "%Y-%m-%dT%H:%M:%SZ."
        ),
    },
    "garage-key-file": {
        "kind": "fact",
        "source": "advancedtelematic/ota-tuf cli/.../repo/CliKeyStorage.scala, libtuf/.../TufCodecs.scala",
        "text": (
            'garage-sign writes key files with circe spaces2: {"keyval" : {"public"|"private" : PEM}, '
            '"keytype" : "RSA"} (keyval first).'
        ),
    },
    "ota-tuf-keyid": {
        "kind": "fact",
        "source": "advancedtelematic/ota-tuf libtuf/.../crypt/TufCrypto.scala PublicKeyOps.id",
        "text": (
            "ota-tuf (server, garage-sign) key id = hex sha256 of the X.509 SubjectPublicKeyInfo DER of the public key."
        ),
    },
    "ota-tuf-rsa": {
        "kind": "fact",
        "source": "advancedtelematic/ota-tuf TufCrypto.scala RsaCrypto",
        "text": (
            "ota-tuf RSA keys default to 2048 bits, PEM via BouncyCastle (public 'PUBLIC KEY', private "
            "PKCS#1 'RSA PRIVATE KEY'), signature SHA256withRSAandMGF1 = rsassa-pss-sha256, base64."
        ),
    },
    "ota-tuf-canonical": {
        "kind": "fact",
        "source": "advancedtelematic/ota-tuf libtuf/.../crypt/CanonicalJson.scala",
        "text": ("ota-tuf canonical JSON: keys sorted, no spaces, escaped newlines turned back into raw newlines."),
    },
    "canonical-docker": {
        "kind": "fact",
        "source": "docker/go d30aec9 canonical/json/encode.go (used by fioctl tuf_utils.go)",
        "text": (
            "fioctl's canonical JSON (docker/go MarshalCanonical): compact, object keys sorted, strings "
            "escape only backslash and quote; newlines and every other byte are written raw."
        ),
    },
    "go-json": {
        "kind": "fact",
        "source": "Go encoding/json (fioctl json.Marshal of client.AtsKey)",
        "text": (
            "Key files are Go json.Marshal of AtsKey: compact "
            '{"keytype":..,"keyval":{"public"|"private":..}}, \\n escaped, <>& escaped as \\u003c \\u003e '
            "\\u0026."
        ),
    },
    "keyid-privjson": {
        "kind": "fact",
        "source": "foundriesio/fioctl 8656ae9 subcommands/keys/rotate_root.go swapRootKey",
        "text": (
            "Feb 2021 (pull-request branch only, no release): key id = sha256 of the Go JSON bytes of the "
            "private key file."
        ),
    },
    "keyid-der-c8e1ffb": {
        "kind": "fact",
        "source": "foundriesio/fioctl c8e1ffb rotate_root.go",
        "text": "Mar 4 2021 (branch only): key id = sha256 of the PKIX DER public key.",
    },
    "keyid-json": {
        "kind": "fact",
        "source": (
            "foundriesio/fioctl 9bfd1e0 client/foundries.go AtsKey.KeyID (released v0.15..v0.29; removed by 7fd8404)"
        ),
        "text": (
            'Mar 2021 to Oct 2022: key id = hex sha256 of canonical JSON {"keytype":T,"keyval":{"public":PEM-or-hex}}.'
        ),
    },
    "keyid-der": {
        "kind": "fact",
        "source": "foundriesio/fioctl 7fd8404 and HEAD subcommands/keys/tuf_utils.go genTufKeyId",
        "text": "Since Oct 2022 (v0.30): key id = hex sha256 of x509.MarshalPKIXPublicKey, as ota-tuf.",
    },
    "rsa-2048-fioctl": {
        "kind": "fact",
        "source": "foundriesio/fioctl 8656ae9 swapRootKey; 13105d6 (v0.17) switched to 4096",
        "text": "fioctl v0.15/v0.16 generated RSA-2048 keys; v0.17 (May 2021) onwards RSA-4096.",
    },
    "rsa-formats": {
        "kind": "fact",
        "source": "foundriesio/fioctl HEAD subcommands/keys/tuf_crypto.go tufKeyTypeRSA",
        "text": (
            "RSA private: PEM 'RSA PRIVATE KEY' PKCS#1 (ParseKey only tries ParsePKCS1PrivateKey, ignoring "
            "the PEM label); public: PEM 'PUBLIC KEY' PKIX; signature rsassa-pss-sha256, salt length 32, "
            "SHA-256."
        ),
    },
    "ed25519-go64": {
        "kind": "fact",
        "source": "foundriesio/fioctl 6439b8a (v0.27, May 2022) tuf_crypto.go",
        "text": (
            "fioctl v0.27..a092df9 writes ED25519 private keys as hex of Go's 64-byte seed||public and "
            "accepts only 64 bytes."
        ),
    },
    "ed25519-seed": {
        "kind": "fact",
        "source": "foundriesio/fioctl a092df9 tuf_crypto.go (Nov 2022)",
        "text": (
            "Since a092df9 fioctl writes the 32-byte seed hex (as the Foundries API does) and reads 32 or "
            "64 bytes; public is hex of the 32 raw bytes; method 'ed25519'."
        ),
    },
    "ed25519-default": {
        "kind": "fact",
        "source": "foundriesio/fioctl 991a798 (v0.32, Jan 2023)",
        "text": "ED25519 is the default offline key type from v0.32.",
    },
    "keytype-names": {
        "kind": "fact",
        "source": "foundriesio/fioctl HEAD tuf_crypto.go",
        "text": "keytype strings written by fioctl: 'RSA', 'ED25519'; parsed case-insensitively.",
    },
    "findsigner": {
        "kind": "fact",
        "source": "foundriesio/fioctl 4d9a3de tuf_utils.go FindSigner; HEAD findTufSigners",
        "text": (
            "A signer is found by comparing trimmed keyval.public of every *.pub member with the root's "
            "key; the private key is the member with .pub replaced by .sec. File names never matter."
        ),
    },
    "rotate-root-keep-old": {
        "kind": "fact",
        "source": "foundriesio/fioctl v0.16 rotate_root.go removeUnusedKeys",
        "text": (
            "Before 4d9a3de, keys referenced by the current signatures stay in 'keys', so the old root key "
            "survives a rotation unused by any role."
        ),
    },
    "rotate-root-drop-old": {
        "kind": "fact",
        "source": "foundriesio/fioctl 4d9a3de tuf_utils.go RemoveUnusedKeys (Sep 2022)",
        "text": "Since Sep 2022 every key not listed by a role is removed on rotation.",
    },
    "rotate-root-sign": {
        "kind": "fact",
        "source": "foundriesio/fioctl v0.16 and 4d9a3de rotate_root.go",
        "text": (
            "rotate-root: new key becomes the only root key, version+1, expires = now+1 year UTC rounded to"
            " seconds, signed by current then new root key; creds member "
            "tufrepo/keys/fioctl-root-<id>.{pub,sec}."
        ),
    },
    "rotate-targets": {
        "kind": "fact",
        "source": "foundriesio/fioctl v0.16 and 4d9a3de rotate_targets.go",
        "text": (
            "rotate-targets: targets keyids = [online targets id, new id], threshold 1 in CI, version+1, "
            "expires unchanged, signed by the root key only; creds member "
            "tufrepo/keys/fioctl-targets-<id>.{pub,sec}."
        ),
    },
    "sync-prod": {
        "kind": "fact",
        "source": "foundriesio/fioctl v0.16 and 4d9a3de rotate_root.go syncProdRoot",
        "text": (
            "Production root = the CI root with targets threshold set to 2, signed by the same keys as the "
            "CI root (found by public key): with one targets key that is threshold 2 over 1 key."
        ),
    },
    "prod-threshold-head": {
        "kind": "fact",
        "source": "foundriesio/fioctl HEAD tuf_utils.go genProdTufRoot/finalizeTufRootChanges",
        "text": (
            "At HEAD the production root is again a copy of the CI root with targets threshold 2, or the "
            "previous production threshold if one exists."
        ),
    },
    "initial-rotation": {
        "kind": "fact",
        "source": "foundriesio/fioctl 4793182 (v0.23, Dec 2021) rotate_root.go --initial",
        "text": (
            "rotate-root --initial writes a new tarball holding tufrepo/keys/first-root.sec (json.Marshal "
            "of GET /ota/factories/<f>/first_root.sec) and first-root.pub (json.Marshal of the root's key),"
            " then rotates."
        ),
    },
    "first-time-updates": {
        "kind": "fact",
        "source": "foundriesio/fioctl HEAD tuf_updates_init.go; client/foundries_tuf_root.go TufRootUpdatesInit",
        "text": (
            "keys tuf updates init --first-time writes first-root.sec / first-root.pub as the raw JSON the "
            "server returned in first_root.sec / first_root.pub."
        ),
    },
    "changelog": {
        "kind": "fact",
        "source": "foundriesio/fioctl f93a6ec (May 2022) rotate_root.go; client RootChangeReason",
        "text": (
            "x-changelog {polis-id, message, timestamp} set on every rotate-root since May 2022; timestamp "
            "is time.Now() in local time, RFC 3339 with nanoseconds."
        ),
    },
    "key-owners": {
        "kind": "fact",
        "source": "foundriesio/fioctl d0e3d2a (Aug 2023) tuf_utils.go addOfflineTufKey",
        "text": (
            "x-key-owners[id] = {polis-id, created-at (UTC, seconds)} for every key added by fioctl since Aug 2023."
        ),
    },
    "download-roots": {
        "kind": "fact",
        "source": "foundriesio/fioctl 9b0a6e7 subcommands/keys/tuf_download_roots.go",
        "text": (
            "download-roots writes members N.root.json (N from 1 until 404), canonical JSON of the whole "
            "envelope, tar Header{Name, Size, Mode 0644}."
        ),
    },
    "ats-root-fields": {
        "kind": "fact",
        "source": "foundriesio/fioctl HEAD client/foundries_tuf_root.go AtsTufRoot; notary tuf/data",
        "text": (
            "Root envelope fields: signatures [{keyid, method, sig(base64)}], signed {_type, "
            "consistent_snapshot, expires, keys, roles{keyids, threshold}, version, x-changelog?, "
            "x-key-owners?}; unknown fields are dropped on re-marshal."
        ),
    },
    "akt-keytype": {
        "kind": "fact",
        "source": "uptane/aktualizr src/libaktualizr/uptane/metawithkeys.cc ParseKeys",
        "text": (
            "aktualizr lower-cases keytype and accepts only rsa and ed25519; key ids are map keys, never recomputed."
        ),
    },
    "akt-threshold": {
        "kind": "fact",
        "source": "uptane/aktualizr metawithkeys.cc ParseRole",
        "text": "A role threshold must be 1..1000; it is not compared with the number of keys.",
    },
    "akt-signatures": {
        "kind": "fact",
        "source": "uptane/aktualizr metawithkeys.cc UnpackSignedObject",
        "text": (
            "A repeated keyid among signatures is refused; method (lower-cased) must be rsassa-pss, "
            "rsassa-pss-sha256 or ed25519; unknown key ids and keys not in the role are skipped."
        ),
    },
    "assume-initial-layout": {
        "kind": "assumption",
        "source": (
            "issue 9 layout list; fioctl 999cbe5 rotation script (reads tufrepo/config.json 'auth', "
            "roles/unsigned/root.json)"
        ),
        "text": (
            "The emailed initial tarball held tufrepo/config.json, tufrepo/credentials.zip, "
            "keys/root.{pub,sec} (the first root key), keys/targets.{pub,sec}, roles/root.json, "
            "roles/targets.json, roles/targets.json.checksum, roles/unsigned/targets.json. Contents of "
            "config.json, credentials.zip and the checksum file are placeholders in the right shape."
        ),
    },
    "assume-server-v1": {
        "kind": "assumption",
        "source": (
            "ota-tuf keyserver defaults; fioctl syncProdRoot ('version 1 can only be generated on server side')"
        ),
        "text": (
            "Root v1 (CI and production alike) is created by the server with online "
            "root/targets/snapshot/timestamp keys, threshold 1, expiry one year, DER key ids, signed by the"
            " online root key."
        ),
    },
    "assume-first-root-json": {
        "kind": "assumption",
        "source": "fioctl client TufRootFirstKey (unmarshals an AtsKey); a092df9 commit message",
        "text": (
            'GET first_root.sec returns compact JSON {"keytype":..,"keyval":{"private":..}}; ED25519 '
            "private as 32-byte seed hex."
        ),
    },
    "assume-updates-one-version": {
        "kind": "assumption",
        "source": "fioctl HEAD tuf_updates_* (one transaction, one updated CI/prod pair)",
        "text": (
            "A TUF-updates transaction that rotates root and adds a targets key produces a single new root "
            "version signed by old and new root keys."
        ),
    },
}
