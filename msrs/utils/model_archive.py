"""Self-contained model archives: pack after training, unpack for inference.

Archive layout (``.tar.gz``, ``.tgz`` or ``.tar``)::

    meta.yaml           versions, date, git revision, file map, rewritten keys
    asr/config.yaml     training config, file paths rewritten to "asr/<name>"
    asr/model.pth       the (averaged) checkpoint
    asr/tokens.txt      token list (also written when the config inlines it)
    asr/bpe.model       SentencePiece model (when the config names one)
    asr/feats_stats.npz normalisation statistics (when the config names them)
    lm/config.yaml      optional language model, same rules
    lm/model.pth

``meta.yaml`` may also carry how the model is meant to be used, for
``msrs.bin.transcribe``: ``decode`` (the decoding config of the recipe, e.g.
beam size and CTC weight) and ``roi_opts`` (the ``msrs.bin.extract_roi``
options of stage 2, so mouth crops are made as in training).

Which config entries are packed (searched recursively in the YAML):

- always, and an error if the file is missing: ``token_list`` (when it is a
  path), ``bpemodel``, ``non_linguistic_symbols`` and any key ending in
  ``stats_file``;
- when the file exists (left as is, with a warning, otherwise): other keys
  ending in ``_file`` or ``_path`` outside the training-data options
  (``train_*``/``valid_*``/``*_data_path_and_name_and_type``, ``output_dir``,
  ``init_param``).

A relative path in the config is looked up in the current directory, then in
the directories above the config file (the recipe directory a config under
``exp/<name>/`` was written from).

:func:`unpack` extracts an archive once, under a directory named by the
archive's SHA-256 (default cache ``$MSRS_CACHE_DIR`` or ``~/.cache/msrs``),
rewrites the recorded config entries to absolute paths and returns the paths
the inference tool needs.  Extraction goes to a temporary directory that is
renamed into place, so parallel decoding jobs may unpack the same archive
concurrently.
"""

import copy
import datetime
import hashlib
import io
import logging
import os
import shutil
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import yaml

logger = logging.getLogger(__name__)

META = "meta.yaml"
FORMAT_VERSION = 1
_DONE = ".msrs_unpacked"
_REQUIRED_KEYS = ("token_list", "bpemodel", "non_linguistic_symbols")
_SKIP_KEYS = ("output_dir", "init_param")
_SKIP_PREFIXES = ("train_", "valid_")
_SKIP_SUFFIXES = ("_data_path_and_name_and_type",)

KeyPath = Tuple[Union[str, int], ...]
PathLike = Union[str, Path]


class ArchiveError(ValueError):
    """Bad archive or packing input; the message names the file/key."""


# --------------------------------------------------------------------------- #
# config walking


def _walk(node: Any, path: KeyPath = ()):
    """Yield ``(key_path, key_name, value)`` for every string leaf.

    ``key_name`` is the leaf's own mapping key (``""`` inside lists).
    """
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, path + (i,))
    elif isinstance(node, str):
        # List elements have no key name of their own: never packed by name.
        name = path[-1] if path and isinstance(path[-1], str) else ""
        yield path, name, node


def _get(node: Any, path: KeyPath) -> Any:
    for p in path:
        node = node[p]
    return node


def _set(node: Any, path: KeyPath, value: Any) -> None:
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def _fmt(path: KeyPath) -> str:
    return ".".join(str(p) for p in path)


def _is_required(name: str) -> bool:
    return name in _REQUIRED_KEYS or name.endswith("stats_file")


def _is_optional(path: KeyPath, name: str) -> bool:
    top = str(path[0]) if path else ""
    if (
        top in _SKIP_KEYS
        or top.startswith(_SKIP_PREFIXES)
        or top.endswith(_SKIP_SUFFIXES)
    ):
        return False
    return name.endswith("_file") or name.endswith("_path")


def _resolve(value: str, config_path: Path) -> Optional[Path]:
    p = Path(value)
    if p.is_absolute():
        return p if p.is_file() else None
    if p.is_file():
        return p.resolve()
    for parent in config_path.resolve().parents:
        if (parent / p).is_file():
            return (parent / p).resolve()
    return None


# --------------------------------------------------------------------------- #
# pack


def _collect(
    config_path: Path, prefix: str
) -> Tuple[Dict[str, Any], Dict[str, Path], List[KeyPath]]:
    """Load a config, choose its files and rewrite them to archive paths.

    Returns:
        (rewritten config, {arcname: source path}, rewritten key paths)
    """
    if not config_path.is_file():
        raise ArchiveError(f"{config_path}: no such config file")
    try:
        with config_path.open("r", encoding="utf-8") as f:
            config = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ArchiveError(f"{config_path}: not valid YAML ({e})") from e
    if not isinstance(config, dict):
        raise ArchiveError(f"{config_path}: expected a YAML mapping at top level")
    config = copy.deepcopy(config)
    files: Dict[str, Path] = {}
    by_source: Dict[Path, str] = {}
    rewritten: List[KeyPath] = []
    for path, name, value in list(_walk(config)):
        required = _is_required(name)
        if not (required or _is_optional(path, name)):
            continue
        src = _resolve(value, config_path)
        if src is None:
            if required:
                raise ArchiveError(
                    f"{config_path}: {_fmt(path)} = {value!r}: file not found "
                    f"(looked in {Path.cwd()} and above {config_path.parent})"
                )
            logger.warning(
                "%s: %s = %r is not a file here; left unchanged",
                config_path,
                _fmt(path),
                value,
            )
            continue
        arc = by_source.get(src)
        if arc is None:
            base = "tokens.txt" if name == "token_list" else src.name
            arc = f"{prefix}/{base}"
            n = 1
            while arc in files or arc in (
                f"{prefix}/config.yaml",
                f"{prefix}/model.pth",
            ):
                arc = f"{prefix}/{n}_{base}"
                n += 1
            files[arc] = src
            by_source[src] = arc
        _set(config, path, arc)
        rewritten.append(path)
    return config, files, rewritten


def _check_model_file(path: Path) -> None:
    if not path.is_file() or path.stat().st_size == 0:
        raise ArchiveError(f"{path}: model file missing or empty")
    import torch

    state, error = None, None
    for kwargs in (
        dict(weights_only=True, mmap=True),
        dict(weights_only=False, mmap=True),
        dict(weights_only=False),
    ):
        try:
            state = torch.load(path, map_location="cpu", **kwargs)
            break
        except Exception as e:  # noqa: PERF203 - try the next loader
            error = e
    else:
        raise ArchiveError(f"{path}: not a loadable torch checkpoint ({error})")
    if isinstance(state, dict) and {"model", "reporter", "optimizers"} <= set(state):
        raise ArchiveError(
            f"{path}: this is a training checkpoint (model + optimizer + reporter); "
            "pack model weights instead, e.g. valid.acc.ave.pth or <N>epoch.pth"
        )
    if not isinstance(state, dict) or not all(
        hasattr(v, "shape") for v in state.values()
    ):
        raise ArchiveError(f"{path}: expected a state dict (name -> tensor)")


def pack(
    asr_train_config: PathLike,
    asr_model_file: PathLike,
    out: PathLike,
    lm_train_config: Optional[PathLike] = None,
    lm_file: Optional[PathLike] = None,
    compresslevel: int = 6,
    inference_config: Optional[PathLike] = None,
    roi_opts: Optional[str] = None,
) -> Path:
    """Write a self-contained model archive.

    Args:
        asr_train_config: the training ``config.yaml``.
        asr_model_file: the checkpoint to ship (e.g. ``valid.acc.ave.pth``;
            symbolic links are followed).
        out: archive path (``.tar.gz``/``.tgz`` compressed, ``.tar`` not).
        lm_train_config: optional LM ``config.yaml`` (needs ``lm_file``).
        lm_file: optional LM checkpoint.
        compresslevel: gzip level 1 (fast) .. 9 (small).
        inference_config: the recipe's decoding YAML, stored as ``decode``
            in ``meta.yaml`` (the defaults of ``msrs.bin.transcribe``).
        roi_opts: the stage-2 ``msrs.bin.extract_roi`` options, stored as
            ``roi_opts``.

    Returns:
        The archive path.

    Raises:
        ArchiveError: a missing/invalid input (message names it).
    """
    from msrs.report.environment import collect_environment

    if (lm_train_config is None) != (lm_file is None):
        raise ArchiveError("--lm_config and --lm_model must be given together")
    out = Path(out)
    name = out.name
    if name.endswith((".tar.gz", ".tgz")):
        mode = "w:gz"
    elif name.endswith(".tar"):
        mode = "w"
    else:
        raise ArchiveError(f"{out}: archive name must end in .tar.gz, .tgz or .tar")

    members: Dict[str, Path] = {}
    extra_text: Dict[str, str] = {}
    file_map: Dict[str, str] = {}
    rewritten: Dict[str, List[List[Union[str, int]]]] = {}
    sources: Dict[str, str] = {}
    parts = [("asr", asr_train_config, asr_model_file)]
    if lm_train_config is not None:
        parts.append(("lm", lm_train_config, lm_file))
    for prefix, cfg, model in parts:
        cfg, model = Path(cfg), Path(model)
        config, files, keys = _collect(cfg, prefix)
        _check_model_file(model)
        if prefix == "asr" and isinstance(config.get("token_list"), list):
            # ESPnet inlines the token list into config.yaml; ship it as a file too.
            extra_text[f"{prefix}/tokens.txt"] = "".join(
                t + "\n" for t in config["token_list"]
            )
        members.update(files)
        extra_text[f"{prefix}/config.yaml"] = yaml.safe_dump(
            config, allow_unicode=True, sort_keys=False, indent=4
        )
        members[f"{prefix}/model.pth"] = model.resolve()
        cfg_key = "asr_train_config" if prefix == "asr" else "lm_train_config"
        model_key = "asr_model_file" if prefix == "asr" else "lm_file"
        file_map[cfg_key] = f"{prefix}/config.yaml"
        file_map[model_key] = f"{prefix}/model.pth"
        rewritten[cfg_key] = [list(k) for k in keys]
        sources[cfg_key] = str(cfg.resolve())
        sources[model_key] = str(model.resolve())

    decode = None
    if inference_config is not None:
        try:
            decode = yaml.safe_load(Path(inference_config).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ArchiveError(f"--inference_config {inference_config}: {e}") from None
        if not isinstance(decode, dict):
            raise ArchiveError(f"--inference_config {inference_config}: not a YAML mapping")
    env = collect_environment()
    meta = {
        "msrs_archive_format": FORMAT_VERSION,
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "msrs_version": env["versions"]["msrs"],
        "espnet_version": env["versions"]["espnet"],
        "torch_version": env["versions"]["torch"],
        "python_version": env["python"],
        "git_revision": env["git"]["revision"],
        "git_dirty": env["git"]["dirty"],
        "files": file_map,
        "rewritten_keys": rewritten,
        "sources": sources,
    }
    if decode is not None:
        meta["decode"] = decode
    if roi_opts is not None:
        meta["roi_opts"] = str(roi_opts)
    extra_text[META] = yaml.safe_dump(meta, sort_keys=False)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    kwargs = {"compresslevel": compresslevel} if mode == "w:gz" else {}
    with tarfile.open(tmp, mode, **kwargs) as tar:
        for arcname in [META] + sorted(a for a in extra_text if a != META):
            _add_text(tar, arcname, extra_text[arcname])
        for arcname, src in sorted(members.items()):
            if arcname in extra_text:
                continue
            logger.info("adding %s as %s", src, arcname)
            with src.open("rb") as f:
                info = tar.gettarinfo(fileobj=f, arcname=arcname)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, f)
    os.replace(tmp, out)
    logger.info("wrote %s (%.1f MB)", out, out.stat().st_size / 2**20)
    return out


def _add_text(tar: tarfile.TarFile, arcname: str, text: str) -> None:
    data = text.encode("utf-8")
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


# --------------------------------------------------------------------------- #
# unpack


def default_cache_dir() -> Path:
    """``$MSRS_CACHE_DIR`` or ``~/.cache/msrs``, plus ``/models``."""
    root = os.environ.get("MSRS_CACHE_DIR") or Path.home() / ".cache" / "msrs"
    return Path(root) / "models"


def file_sha256(path: PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _read_meta(root: Path, archive: Path) -> Dict[str, Any]:
    meta_path = root / META
    if not meta_path.is_file():
        raise ArchiveError(f"{archive}: not an msrs model archive (no {META})")
    meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
    if "msrs_archive_format" not in meta or "files" not in meta:
        raise ArchiveError(f"{archive}: {META} is not an msrs archive description")
    if meta["msrs_archive_format"] > FORMAT_VERSION:
        raise ArchiveError(
            f"{archive}: archive format {meta['msrs_archive_format']} is newer than "
            f"this msrs understands ({FORMAT_VERSION}); upgrade msrs"
        )
    return meta


def _absolutise(
    files_root: Path, final_root: Path, meta: Dict[str, Any], archive: Path
) -> None:
    """Rewrite the recorded config entries (in ``files_root``) to paths under ``final_root``."""
    for cfg_key, keys in meta.get("rewritten_keys", {}).items():
        cfg_path = files_root / meta["files"][cfg_key]
        with cfg_path.open("r", encoding="utf-8") as f:
            config = yaml.safe_load(f)
        for key in keys:
            key = tuple(key)
            rel = _get(config, key)
            if not (files_root / rel).is_file():
                raise ArchiveError(
                    f"{archive}: {cfg_key} {_fmt(key)} -> {rel} is missing"
                )
            _set(config, key, str(final_root / rel))
        with cfg_path.open("w", encoding="utf-8") as f:
            yaml.safe_dump(config, f, allow_unicode=True, sort_keys=False, indent=4)


def _result(root: Path, meta: Dict[str, Any], archive: Path) -> Dict[str, str]:
    out = {}
    for key in ("asr_train_config", "asr_model_file", "lm_train_config", "lm_file"):
        rel = meta["files"].get(key)
        if rel is None:
            continue
        p = root / rel
        if not p.is_file():
            raise ArchiveError(f"{archive}: {key} ({rel}) missing from the archive")
        out[key] = str(p)
    if "asr_train_config" not in out or "asr_model_file" not in out:
        raise ArchiveError(f"{archive}: archive lacks asr_train_config/asr_model_file")
    return out


def unpack(archive: PathLike, dest: Optional[PathLike] = None) -> Dict[str, str]:
    """Extract an archive (once) and return absolute paths for inference.

    Args:
        archive: a file written by :func:`pack`.
        dest: directory to extract into; default
            ``<cache>/<archive name>-<sha256[:16]>``.  An existing ``dest``
            holding the same archive (same hash) is reused; one holding another
            archive is replaced.

    Returns:
        ``{"asr_train_config", "asr_model_file"}`` plus ``"lm_train_config"``
        and ``"lm_file"`` when the archive has an LM; all absolute paths, the
        configs' file entries rewritten to absolute paths.

    Raises:
        FileNotFoundError: ``archive`` does not exist.
        ArchiveError: not a (readable) msrs archive.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"{archive}: no such model archive")
    digest = file_sha256(archive)
    if dest is None:
        stem = archive.name.split(".")[0] or "model"
        root = default_cache_dir() / f"{stem}-{digest[:16]}"
    else:
        root = Path(dest)
    root = root.resolve()
    done = root / _DONE
    if done.is_file() and done.read_text().strip() == digest:
        return _result(root, _read_meta(root, archive), archive)

    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache may be shared
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError, EOFError) as e:
            raise ArchiveError(f"{archive}: cannot extract ({e})") from e
        meta = _read_meta(tmp, archive)
        _absolutise(tmp, root, meta, archive)
        (tmp / _DONE).write_text(digest + "\n")
        _move_into_place(tmp, root, digest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("unpacked %s into %s", archive, root)
    return _result(root, _read_meta(root, archive), archive)


def _move_into_place(tmp: Path, root: Path, digest: str) -> None:
    if root.exists():
        done = root / _DONE
        if done.is_file() and done.read_text().strip() == digest:
            return  # another process finished first
        if not done.is_file() and any(root.iterdir()):
            raise ArchiveError(
                f"{root}: exists and is not an unpacked msrs archive; refusing to "
                "replace it (choose another dest)"
            )
        old = root.with_name(f".{root.name}.old.{os.getpid()}")
        os.replace(root, old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.replace(tmp, root)
    except OSError:
        # Lost a race with a concurrent unpack of the same archive.
        done = root / _DONE
        if not (done.is_file() and done.read_text().strip() == digest):
            raise


def read_meta(archive_dir: PathLike) -> Dict[str, Any]:
    """``meta.yaml`` of an unpacked archive directory (versions, sources ...)."""
    root = Path(archive_dir)
    return _read_meta(root, root)


__all__: Sequence[str] = (
    "ArchiveError",
    "default_cache_dir",
    "file_sha256",
    "pack",
    "read_meta",
    "unpack",
)
