"""Arabic voice cloning: resemblyzer similarity of eSpeak NG Arabic speech to 6 English reference
speakers (tortoise_<name>_2), base voice vs converted to tortoise_<name>_1.

    python benchmarks/bench_arabic_voice.py
"""
import numpy as np, warnings, sys
warnings.filterwarnings("ignore")
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from bench_speech import MEDIA, _to16k
from twintake.speech.synthesize import synthesize
from twintake.speech.voice import VoiceProfile, decode_audio
import resemblyzer
enc = resemblyzer.VoiceEncoder("cpu", verbose=False)
emb = lambda x, r: enc.embed_utterance(resemblyzer.preprocess_wav(_to16k(x, r), 16000))
text = "مرحبا بكم جميعا. هذا اختبار قصير لصوت المتحدث. نتمنى لكم يوما سعيدا وجميلا."
base = synthesize(text, lang="ar")
eb = emb(base.samples, base.sample_rate_hz)
print(f"base arabic: {base.duration_s:.2f} s, {base.duration_s/len(text):.3f} s/char")
rows = []
for name in ["daniel", "freeman", "emma", "angie", "deniro", "jlaw"]:
    ref1, ref2 = MEDIA / f"tortoise_{name}_1.wav", MEDIA / f"tortoise_{name}_2.wav"
    prof = VoiceProfile.from_audio(ref1)
    conv = synthesize(text, lang="ar", voice=prof)
    e2 = emb(decode_audio(ref2, 16000), 16000)
    rows.append((name, float(eb @ e2), float(emb(conv.samples, conv.sample_rate_hz) @ e2)))
    print(name, f"ref F0 {prof.f0_median_hz:.0f} Hz  base {rows[-1][1]:.3f} -> converted {rows[-1][2]:.3f}", flush=True)
b, c = np.mean([r[1] for r in rows]), np.mean([r[2] for r in rows])
print(f"mean over {len(rows)}: base {b:.3f} -> converted {c:.3f} ({c-b:+.3f})")
