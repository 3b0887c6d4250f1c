"""Burned-in caption clips with exact timing: captions drawn by libass (ffmpeg's ``ass`` filter)
over moving footage, in several styles, so that cue times are known to the frame.

Styles: white with a black outline, yellow on a translucent box, white with a drop shadow, two
lines, fades in and out, a caption near the top, Cyrillic, Greek, Arabic and Hebrew (DejaVu Sans
has them; CJK needs a CJK font, which is used when fontconfig knows one); ``script_captions``
gives a set per language of another script. Footage: ffmpeg's moving
``mandelbrot`` zoom, or a real clip given with ``background`` (looped).

Generated media goes under an ignored build folder (``out/``); nothing here is committed media.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

FONT_DIR = "/usr/share/fonts/truetype/dejavu"

STYLES = {
    # name: ASS style fields after Name/Fontname (size, colours, bold, border style, outline, shadow, alignment, margin)
    "outline": "DejaVu Sans,{size},&H00FFFFFF,&H00000000,&H00000000,0,1,2.5,0,2,{margin}",
    "box": "DejaVu Sans,{size},&H0000FFFF,&H00000000,&H60000000,0,3,4,0,2,{margin}",
    "shadow": "DejaVu Sans,{size},&H00FFFFFF,&H00000000,&H00000000,1,1,0.8,3,2,{margin}",
    "top": "DejaVu Sans,{size},&H00FFFFFF,&H00000000,&H00000000,0,1,2.5,0,8,{margin}",
}


@dataclass(frozen=True)
class Caption:
    """One generated caption: times (seconds), lines, style, and an ASS effect (e.g. a fade)."""

    start: float
    end: float
    lines: tuple[str, ...]
    style: str = "outline"
    effect: str = ""


DEFAULT_CAPTIONS = (
    Caption(0.5, 2.0, ("Open the settings page",), "outline"),
    Caption(2.0, 3.6, ("Choose a new password",), "box"),
    Caption(4.0, 4.5, ("Save it",), "shadow"),
    Caption(5.0, 7.0, ("Two lines of text", "kept apart"), "outline"),
    Caption(7.5, 9.0, ("Fading in and out",), "outline", r"{\fad(200,200)}"),
    Caption(9.5, 11.0, ("Откройте настройки",), "outline"),
    Caption(11.5, 13.0, ("Άνοιξε τις ρυθμίσεις",), "box"),
    Caption(13.5, 15.0, ("افتح الإعدادات",), "outline"),
    Caption(15.5, 17.0, ("Up at the top",), "top"),
)


TWO_BANDS = (
    Caption(0.5, 2.5, ("Open the project folder",), "outline"),
    Caption(1.0, 3.5, ("Notes for this lesson",), "top"),
    Caption(3.0, 5.0, ("Run the first cell",), "box"),
    Caption(4.0, 6.5, ("Keep the file open",), "top"),
    Caption(5.5, 7.5, ("Check the output below",), "shadow"),
    Caption(7.0, 9.5, ("Use a clean copy",), "top"),
    Caption(8.0, 10.0, ("Now change the value",), "outline"),
)
"""Captions at the bottom and, overlapping them in time, others at the top (notes, a second
language): two bands to follow at once."""

# Ordinary training-course sentences, five or six a script, one style each in turn: outline, box,
# shadow (shown for only 1 s), two lines, a fade, box. Written before the readers were measured on
# them, and not to be tuned on: a reader that fails one should be fixed in a general way.
SCRIPT_SENTENCES: dict[str, tuple[tuple[str, ...], ...]] = {
    "ru": (("Сначала откройте меню файла",), ("Выберите нужный формат",), ("Нажмите кнопку сохранить",),
           ("Этот урок длится", "около десяти минут"), ("Проверьте результат ещё раз",),
           ("Запишите ответ в тетрадь",)),
    "uk": (("Відкрийте нову вкладку",), ("Введіть своє ім'я",), ("Зачекайте кілька секунд",),
           ("Ця вправа допоможе", "краще зрозуміти тему"), ("Наступний крок дуже простий",),
           ("Їхні відповіді збережено",)),
    "el": (("Ανοίξτε το αρχείο",), ("Επιλέξτε τη γλώσσα σας",), ("Πατήστε το κουμπί",),
           ("Σε αυτό το μάθημα", "θα μάθουμε τα βασικά"), ("Δοκιμάστε ξανά αργότερα",),
           ("Η άσκηση τελείωσε",)),
    "ar": (("افتح ملف المشروع",), ("اختر اللغة المناسبة",), ("اضغط على زر الحفظ",),
           ("في هذا الدرس", "سنتعلم الأساسيات"), ("حاول مرة أخرى لاحقا",), ("انتهى التمرين بنجاح",)),
    "he": (("פתחו את הקובץ",), ("בחרו את השפה",), ("לחצו על הכפתור",), ("בשיעור הזה", "נלמד את היסודות"),
           ("נסו שוב מאוחר יותר",), ("התרגיל הסתיים בהצלחה",)),
    # Written on 2026-12-05 before any reader ran on them: scripts DejaVu Sans lacks, drawn with
    # the machine's fonts for them (``SCRIPT_FONTS``).
    "hi": (("सबसे पहले फ़ाइल खोलें",), ("अपनी भाषा चुनें",), ("बटन दबाएँ",), ("इस पाठ में हम", "मूल बातें सीखेंगे"),
           ("बाद में फिर से कोशिश करें",), ("अभ्यास पूरा हुआ",)),
    "th": (("เปิดไฟล์ของคุณ",), ("เลือกภาษาที่ต้องการ",), ("กดปุ่มบันทึก",), ("ในบทเรียนนี้", "เราจะเรียนรู้พื้นฐาน"),
           ("ลองใหม่อีกครั้งภายหลัง",), ("แบบฝึกหัดเสร็จสมบูรณ์",)),
    "ko": (("파일 메뉴를 여세요",), ("원하는 언어를 선택하세요",), ("저장 버튼을 누르세요",),
           ("이번 강의에서는", "기초를 배웁니다"), ("나중에 다시 시도하세요",), ("연습이 끝났습니다",)),
}
"""Captions per language (ISO 639-1) for ``script_captions``."""

SCRIPT_FONTS = {"hi": "fonts-lohit-deva", "th": "fonts-tlwg-garuda-otf", "ko": "fonts-nanum"}
"""Languages whose script DejaVu Sans lacks -> a Debian package with a font libass falls back to
(any font fontconfig lists for the language will do)."""

ENGLISH_SETS: tuple[tuple[tuple[str, ...], ...], ...] = (
    # Written on 2026-12-04 to try the reader on more than one English clip; the first three were
    # run while a change was made (two of them showed what it fixed: a caption read as it faded
    # in), the last four only after it.
    (("Click the blue button",), ("Type your name here",), ("Press it",),
     ("Your account is ready", "to use right away"), ("Then close the dialog",), ("Wait for it",)),
    (("Open a new terminal",), ("Run the install script",), ("Do it now",),
     ("The output shows", "every file it copied"), ("Check the log file",), ("That is all",)),
    (("Select the first row",), ("Drag it to the top",), ("Undo it",),
     ("Changes are saved", "when you leave the page"), ("Ask your manager",), ("See you soon",)),
    (("Welcome to the safety course",), ("Put on your helmet",), ("Look up",),
     ("Every visitor must sign", "the book at the gate"), ("Keep the exit clear",), ("Report any damage",)),
    (("Save your work often",), ("Name the file clearly",), ("Go back",),
     ("The template is stored", "in the shared folder"), ("Share it with the team",), ("Thanks for watching",)),
    (("First we check the voltage",), ("Turn off the power",), ("Wait here",),
     ("Never touch the cable", "while it is connected"), ("Test it once more",), ("We are finished",)),
    (("Log in with your badge",), ("Choose the right form",), ("Sign it",),
     ("Your request goes", "to the finance team"), ("You will get an email",), ("Questions are welcome",)),
    # Four more written later that night, after words run together were split
    # (pipelines.ocr.word_spacing), and run once with the code before it and once after.
    (("Welcome back, Priya",), ("Open the dashboard",), ("Tap it twice",),
     ("Each report shows", "last week's numbers"), ("Tick the checkbox below",), ("Then press Submit",)),
    (("Our offboarding process",), ("starts with a checklist",), ("Read it carefully",),
     ("Return your laptop", "before your last day"), ("HR will contact you",), ("Good luck, Marcus",)),
    (("Lift with your legs",), ("Keep your back straight",), ("Ask for help",),
     ("Heavy boxes need", "two people to carry"), ("Use the trolley",), ("Stay safe out there",)),
    (("This is the login page",), ("Enter your password",), ("Click on it",),
     ("If you forget it", "use the reset link"), ("Your inbox opens",), ("That is everything",)),
)
"""Sets of English captions in the styles of ``script_captions`` (``turns``)."""

CHINESE_SETS: dict[str, tuple[tuple[str, ...], ...]] = {
    # Written on 2026-12-04 (night), after Chinese captions were kept in one written form
    # (pipelines.ocr.han_variants), and run once with the code before it and once after; libass
    # draws them with the machine's CJK font (Debian's fonts-wqy-microhei).
    "simplified": (("欢迎参加安全培训",), ("请先打开设置页面",), ("点击这里",),
                   ("这个课程大约需要", "二十分钟完成"), ("记得保存你的文件",), ("谢谢大家观看",)),
    "traditional": (("歡迎參加安全培訓",), ("請先打開設置頁面",), ("點擊這裡",),
                    ("這個課程大約需要", "二十分鐘完成"), ("記得保存你的檔案",), ("謝謝大家觀看",)),
}
"""Simplified and traditional Chinese captions, the same sentences, in the styles of ``turns``."""

CHINESE_PAUSES: tuple[tuple[str, ...], ...] = (
    # Written on 2026-12-06 (late), after a CJK line's pause between two phrases was written as a
    # space (pipelines.ocr.caption_widen.Widener.spaced, made looking at two real clips), and run
    # once with the code before it and once after. The first four pause as Chinese subtitles do,
    # with a full-width space (U+3000); the last two with an ASCII space, which is narrower.
    ("打开设置\u3000点击保存",), ("好的\u3000我们继续",), ("这一步很重要\u3000请注意",),
    ("先登录\u3000再下载文件",), ("没问题 谢谢你",), ("下次见 明天再聊",),
)
"""Chinese captions with a pause between two phrases, in the styles of ``turns``."""

STATIC_NAMES: dict[str, str] = {
    # Written on 2026-12-06: a channel's or a course's name shown all along, centred under the
    # picture where captions sit, smaller than a caption. The Korean one was run while the band
    # search learnt to tell such a name from captions (pipelines.ocr.band.analyse); the others
    # only after.
    "en": "Learning Channel Live",
    "ru": "Учебный канал",
    "ar": "قناة التعليم",
    "hi": "शिक्षा चैनल",
    "ko": "한국교육방송 채널",
}
"""A name per language, burned in for a whole clip (``static_name``): text that stays, not captions."""


def static_name(language: str, seconds: float = 20.0) -> tuple[Caption, ...]:
    """``STATIC_NAMES[language]`` shown from the first frame to the last, a third smaller than a
    caption, at the captions' place."""
    return (Caption(0.0, seconds, (STATIC_NAMES[language],), "outline", r"{\fscx66\fscy66}"),)


def staying_captions(kind: str) -> tuple[Caption, ...]:
    """Captions that must not be taken for text that stays (``static_name``), in 1280x720 clips:
    ``long``: one caption 8 s long among short ones, shorter and at its place; ``steady``:
    captions of about one length back to back, 4.5 s each, over 30 s."""
    if kind == "long":
        items = [("Welcome to this course on workplace safety", 8.0)] + [(text, 1.4) for text in (
            "Open the file", "Save it now", "Close the tab", "Run the cell", "Check the log", "Type a name",
            "Press enter", "Read the note")]
        gap = 0.1
    else:
        items = [(text, 4.5) for text in ("Open the settings page now", "Choose a brand new password",
                                          "Save the file before you go", "Check the output down below",
                                          "Keep the notebook open here", "Run the first cell once more")]
        gap = 0.3
    out, start = [], 0.5
    for text, length in items:
        out.append(Caption(round(start, 2), round(start + length, 2), (text,), "outline"))
        start += length + gap
    return tuple(out)


_TURNS = (("outline", "", 1.6), ("box", "", 1.4), ("shadow", "", 1.0), ("outline", "", 2.0),
          ("outline", r"{\fad(200,200)}", 1.6), ("box", "", 1.4))


def script_captions(language: str, gap: float = 0.6) -> tuple[Caption, ...]:
    """The captions of ``SCRIPT_SENTENCES[language]`` one after another, styles in turn."""
    return turns(SCRIPT_SENTENCES[language], gap)


def turns(sentences: tuple[tuple[str, ...], ...], gap: float = 0.6) -> tuple[Caption, ...]:
    """Captions of ``sentences`` (lines each) one after another, from 0.5 s, ``gap`` s apart, in
    the styles outline, box, shadow (1 s), two lines, a fade, box in turn."""
    out, start = [], 0.5
    for k, lines in enumerate(sentences):
        style, effect, length = _TURNS[k % len(_TURNS)]
        out.append(Caption(round(start, 2), round(start + length, 2), lines, style, effect))
        start += length + gap
    return tuple(out)


def _ass_time(t: float) -> str:
    cs = round(t * 100)
    h, cs = divmod(cs, 360000)
    m, cs = divmod(cs, 6000)
    s, cs = divmod(cs, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def ass_document(captions: tuple[Caption, ...], width: int, height: int) -> str:
    """An ASS script drawing the captions at a size fit for a ``width`` x ``height`` frame."""
    size, margin = max(16, height // 16), max(10, height // 20)
    head = [
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {width}", f"PlayResY: {height}", "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, OutlineColour, BackColour, Bold, BorderStyle, "
        "Outline, Shadow, Alignment, MarginV",
    ]
    head += [f"Style: {name},{fields.format(size=size, margin=margin)}" for name, fields in STYLES.items()]
    head += ["", "[Events]", "Format: Layer, Start, End, Style, Text"]
    newline = r"\N"
    events = [f"Dialogue: 0,{_ass_time(c.start)},{_ass_time(c.end)},{c.style},{c.effect}{newline.join(c.lines)}"
              for c in captions]
    return "\n".join(head + events) + "\n"


def make_clip(path: Path, captions: tuple[Caption, ...] = DEFAULT_CAPTIONS, size: tuple[int, int] = (640, 360),
              fps: int = 25, background: Path | None = None) -> Path:
    """Write an H.264 clip of the captions burned into moving footage; returns ``path``."""
    width, height = size
    duration = max(c.end for c in captions) + 0.5
    path.parent.mkdir(parents=True, exist_ok=True)
    ass = path.with_suffix(".ass")
    ass.write_text(ass_document(captions, width, height), encoding="utf-8")
    if background is not None:
        source = ["-stream_loop", "-1", "-i", str(background)]
        scale = f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},fps={fps},"
    else:
        source = ["-f", "lavfi", "-i", f"mandelbrot=size={width}x{height}:rate={fps}"]
        scale = ""
    cmd = ["ffmpeg", "-v", "error", "-y", *source, "-t", f"{duration:.2f}", "-an",
           "-vf", f"{scale}ass={ass}:fontsdir={FONT_DIR}", "-c:v", "libx264", "-preset", "veryfast",
           "-pix_fmt", "yuv420p", "-r", str(fps), str(path)]
    subprocess.run(cmd, check=True)
    return path
