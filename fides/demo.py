"""`fides demo`: drop every sample flow into a fresh root, in the order a hospital sends them,
process each drop and say what happened."""

from __future__ import annotations

import shutil
from pathlib import Path

from fides.dossiers import STATE_NAMES

# UM list, billing data, pharmacy, then PMSI (which completes the dossiers, so they are validated
# and locked with their drugs and devices), then requests and returns.
ORDER = ("IUM", "VIDHOSP", "FICHCOMP", "RSS", "B2REQUEST", "NOEMIE", "MANAGEREJECT",
         "CANCELPAIDREQUEST", "STATEREQUEST", "EXTRACTEPMSI")


def _rank(path: Path) -> tuple[int, str]:
    prefix = path.name.split("_", 1)[0]
    return (ORDER.index(prefix) if prefix in ORDER else len(ORDER), path.name)


DEMO_CONFIG = """# fides demo: files are copied whole, no need to wait for them to settle.
[inbox]
stable_seconds = 0
"""


def run_demo(root: Path, samples: Path, installation) -> int:
    print(f"racine de démonstration : {root}")
    root.mkdir(parents=True, exist_ok=True)
    config = root / "fides.toml"
    if not config.exists():
        config.write_text(DEMO_CONFIG, encoding="utf-8")
        config.chmod(0o600)
    with installation as inst:
        processor = inst.processor()
        for sample in sorted((p for p in samples.iterdir() if p.is_file() and p.suffix != ".md"), key=_rank):
            shutil.copyfile(sample, inst.tree.inbox / sample.name)
            report = processor.run_pass()
            for name, flux, status in report.processed:
                arl = (inst.tree.arl / f"{name}.arl").read_text(encoding="utf-8").splitlines()
                print(f"{status:8} {flux:18} {name}")
                for line in arl[1:4]:
                    print(f"           {line}")
                if len(arl) > 4:
                    print(f"           … {len(arl) - 4} autre(s) message(s)")
        print("\ndossiers par état :")
        for state, count in inst.conn.execute("SELECT state, count(*) FROM dossier GROUP BY state ORDER BY state"):
            print(f"  {STATE_NAMES[state]:10} {count}")
        inst.conn.commit()
    print(f"\n.arl : {root / 'out' / 'arl'}   archives : {root / 'archive'}   rejetés : {root / 'rejected'}")
    return 0
