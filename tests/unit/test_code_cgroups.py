"""Where the executor creates its per-execution cgroups, read from a fake ``/proc/self``."""

from __future__ import annotations

from pathlib import Path

from delegate.execution.cgroups import Layout, find_layout


def fake_proc(tmp_path: Path, mountinfo: list[str], cgroup: list[str]) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mountinfo").write_text("\n".join(mountinfo) + "\n")
    (proc / "cgroup").write_text("\n".join(cgroup) + "\n")
    return proc


def test_v1_uses_the_own_memory_and_pids_groups(tmp_path: Path) -> None:
    memory, pids = tmp_path / "memory", tmp_path / "pids"
    (memory / "jobs" / "42").mkdir(parents=True)
    pids.mkdir()
    proc = fake_proc(
        tmp_path,
        [
            f"35 31 0:32 / {memory} rw,relatime - cgroup cgroup rw,memory",
            f"39 31 0:36 / {pids} rw,relatime - cgroup cgroup rw,pids",
            f"41 31 0:38 / {tmp_path / 'unified'} rw,relatime - cgroup2 cgroup2 rw",
        ],
        ["8:pids:/", "4:memory:/jobs/42", "0::/"],
    )
    assert find_layout(proc) == Layout(1, (str(memory / "jobs" / "42"), str(pids)))


def test_v2_needs_a_parent_that_delegates_both_controllers(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    own = root / "system.slice" / "run.service"
    own.mkdir(parents=True)
    (own / "cgroup.subtree_control").write_text("")  # a group with processes delegates nothing
    (root / "cgroup.subtree_control").write_text("cpu memory pids\n")
    proc = fake_proc(
        tmp_path,
        [f"30 23 0:27 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"],
        ["0::/system.slice/run.service"],
    )
    assert find_layout(proc) == Layout(2, (str(root),))
    (own / "cgroup.subtree_control").write_text("memory pids\n")
    assert find_layout(proc) == Layout(2, (str(own),))
    (own / "cgroup.subtree_control").write_text("memory\n")
    (root / "cgroup.subtree_control").write_text("memory\n")
    assert find_layout(proc) is None


def test_no_cgroup_mount_means_no_layout(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, ["23 1 0:21 / / rw - ext4 /dev/root rw"], ["0::/"])
    assert find_layout(proc) is None
    assert find_layout(tmp_path / "missing") is None
