"""Whisper through openai-whisper (PyTorch), on the packaged weights converted at install.

The same decoding guards, screen vocabulary and transcript as faster-whisper
(``pipelines.asr.WhisperEngine``); only the decode differs. openai-whisper has no voice-activity
filter, so speech is cut out with the same Silero VAD faster-whisper uses and the times mapped
back; it has no hotwords, so they (and the on-screen terms) ride as a prompt carried to every
window (``carry_initial_prompt``), as faster-whisper puts them in each window's prompt.
"""

from __future__ import annotations

import base64
import gzip
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.asr import SAMPLE_RATE, AsrOptions, DecodeInfo, Segment, WhisperEngine, Word
from pipelines.whisper_convert import CHECKPOINT, alignment_heads

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # the fallback ladder, as in faster-whisper
BEST_OF = 5  # candidates when sampling at a temperature above 0 (faster-whisper's default)


def _alignment_dump(heads: list[tuple[int, int]], layers: int, per_layer: int) -> bytes:
    """Alignment heads in the form ``Whisper.set_alignment_heads`` reads (base85 of gzip)."""
    mask = np.zeros((layers, per_layer), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


class OpenAIWhisperEngine(WhisperEngine):
    """Whisper on openai-whisper. ``transcribe`` calls take turns: openai-whisper hangs its
    key-value cache on the shared model's modules for the length of a decode."""

    def __init__(self, name: str, model: Any, *, fp16: bool = False) -> None:
        from whisper.tokenizer import get_tokenizer

        self.name = name
        self.model = model
        self.multilingual = bool(model.is_multilingual)
        self.fp16 = fp16
        self.tokenizer = get_tokenizer(self.multilingual, num_languages=model.num_languages)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, name: str, folder: Path, *, device: str = "cpu", cpu_threads: int = 0) -> OpenAIWhisperEngine:
        import torch
        import whisper

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if cpu_threads > 0:
            torch.set_num_threads(cpu_threads)
        model = whisper.load_model(str(folder / CHECKPOINT), device=device)
        heads = alignment_heads(folder)
        if heads:  # a checkpoint loaded from a path gets "the last half of the layers" otherwise
            model.set_alignment_heads(_alignment_dump(heads, model.dims.n_text_layer, model.dims.n_text_head))
        return cls(name, model, fp16=device == "cuda")

    def token_count(self, word: str) -> int | None:
        return len(self.tokenizer.encode(word))

    def text_log_probs(
        self, audio: np.ndarray, texts: Sequence[str], language: str, hotwords: str | None = None
    ) -> list[float]:
        import torch
        import whisper
        from whisper.tokenizer import get_tokenizer

        tokenizer = get_tokenizer(self.multilingual, num_languages=self.model.num_languages, language=language,
                                  task="transcribe")
        mel = whisper.log_mel_spectrogram(torch.from_numpy(audio), self.model.dims.n_mels,
                                          padding=whisper.audio.N_SAMPLES)
        mel = whisper.pad_or_trim(mel, whisper.audio.N_FRAMES).to(self.model.device)
        prompt = [tokenizer.sot_prev, *tokenizer.encode(" " + hotwords.strip())][-(self.model.dims.n_text_ctx // 2):] \
            if hotwords else []
        prompt += [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        scores = []
        with self._lock, torch.inference_mode():
            features = self.model.embed_audio((mel.half() if self.fp16 else mel).unsqueeze(0))
            for text in texts:  # teacher-forced: log P of each token of the text, then of the end
                body = [*tokenizer.encode(" " + text.strip()), tokenizer.eot]
                tokens = torch.tensor([prompt + body], device=self.model.device)
                logp = torch.log_softmax(self.model.logits(tokens, features)[0].float(), dim=-1)
                at = torch.arange(len(prompt) - 1, len(prompt) - 1 + len(body), device=self.model.device)
                scores.append(float(logp[at, torch.tensor(body, device=self.model.device)].sum()))
        return scores

    def detect_language(self, audio: np.ndarray) -> DecodeInfo:
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
        with self._lock, torch.inference_mode():
            return self._language(tensor, None)

    def _language(self, speech: torch.Tensor, language: str | None) -> DecodeInfo:
        if language is not None or not self.multilingual:
            return DecodeInfo(language or "en", 1.0)
        import whisper

        mel = whisper.log_mel_spectrogram(speech[: whisper.audio.N_SAMPLES], self.model.dims.n_mels,
                                          padding=whisper.audio.N_SAMPLES)
        mel = whisper.pad_or_trim(mel, whisper.audio.N_FRAMES).to(self.model.device)
        if self.fp16:
            mel = mel.half()
        _, probs = self.model.detect_language(mel)
        best = max(probs, key=probs.get)
        return DecodeInfo(best, float(probs[best]), {code: float(p) for code, p in probs.items()})

    def _decode(
        self,
        audio: np.ndarray,
        options: AsrOptions,
        language: str | None,
        *,
        context: bool,
        offset: float = 0.0,
        progress: Callable[[float], None] | None = None,
        terms: Sequence[str] = (),
    ) -> tuple[list[Segment], DecodeInfo]:
        import torch
        from faster_whisper.vad import SpeechTimestampsMap, VadOptions, collect_chunks, get_speech_timestamps
        from whisper.transcribe import transcribe

        chunks = get_speech_timestamps(audio, VadOptions()) if options.vad_filter else []
        if options.vad_filter and not chunks:
            return [], DecodeInfo(language or "en", 1.0)
        speech = np.concatenate(collect_chunks(audio, chunks)[0]) if chunks else audio
        times = SpeechTimestampsMap(chunks, SAMPLE_RATE) if chunks else None
        hotwords = ", ".join([*([options.hotwords] if options.hotwords else []), *terms]) or None
        prompt = " ".join(p for p in (hotwords, options.initial_prompt if context else None) if p) or None
        tensor = torch.from_numpy(np.ascontiguousarray(speech, dtype=np.float32))
        with self._lock, torch.inference_mode():
            info = self._language(tensor, language)
            result = transcribe(
                self.model,
                tensor,
                verbose=None,
                temperature=TEMPERATURES,
                compression_ratio_threshold=options.compression_ratio_threshold,
                logprob_threshold=options.log_prob_threshold,
                no_speech_threshold=options.no_speech_threshold,
                condition_on_previous_text=context and options.condition_on_previous_text,
                initial_prompt=prompt,
                carry_initial_prompt=hotwords is not None,
                word_timestamps=options.word_timestamps,
                hallucination_silence_threshold=options.hallucination_silence_threshold,
                language=info.language,
                task="transcribe",
                beam_size=options.beam_size,
                best_of=BEST_OF,
                fp16=self.fp16,
            )

        def at(t: float, chunk: int | None = None, is_end: bool = False) -> float:
            return offset + float(times.get_original_time(t, chunk, is_end) if times is not None else t)

        segments: list[Segment] = []
        for seg in result["segments"]:
            words = []
            for w in seg.get("words") or []:
                # both ends of a word in the chunk of its middle, as faster-whisper maps them
                chunk = times.get_chunk_index((w["start"] + w["end"]) / 2) if times is not None else None
                words.append(Word(at(w["start"], chunk), at(w["end"], chunk), w["word"], float(w["probability"])))
            start = words[0].start if words else at(seg["start"])
            end = words[-1].end if words else at(seg["end"], is_end=True)
            segments.append(Segment(start, end, seg["text"], tuple(words), float(seg["avg_logprob"]),
                                    float(seg["no_speech_prob"]), float(seg["compression_ratio"]),
                                    float(seg["temperature"])))
        if progress:
            progress(1.0)
        return segments, info
