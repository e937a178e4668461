import { ObjectUrls, concatBytes, fixStreamedWav, pcmToWav, readCost } from "./ttsAudio";

function view(bytes: Uint8Array) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function ascii(text: string): number[] {
  return [...text].map((char) => char.charCodeAt(0));
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** A WAV as a streaming muxer writes it: sizes unknown (0xFFFFFFFF), a LIST chunk first. */
function streamedWav(samples: number): Uint8Array {
  const fmt = [...ascii("fmt "), ...u32(16), 1, 0, 1, 0, ...u32(22050), ...u32(44100), 2, 0, 16, 0];
  const list = [...ascii("LIST"), ...u32(5), ...ascii("INFOx"), 0]; // odd size: padded
  const data = [...ascii("data"), ...u32(0xffffffff), ...new Array(samples * 2).fill(7)];
  return new Uint8Array([...ascii("RIFF"), ...u32(0xffffffff), ...ascii("WAVE"), ...fmt, ...list, ...data]);
}

describe("fixStreamedWav", () => {
  it("writes the real RIFF and data sizes", () => {
    const input = streamedWav(100);
    const fixed = fixStreamedWav(input);
    expect(fixed.length).toBe(input.length);
    expect(view(fixed).getUint32(4, true)).toBe(input.length - 8);
    const dataOffset = 12 + 24 + 14;
    expect(String.fromCharCode(...fixed.slice(dataOffset, dataOffset + 4))).toBe("data");
    expect(view(fixed).getUint32(dataOffset + 4, true)).toBe(200);
    // the original is left alone
    expect(view(input).getUint32(4, true)).toBe(0xffffffff);
  });

  it("leaves anything else untouched", () => {
    const mp3 = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(fixStreamedWav(mp3)).toBe(mp3);
    expect(fixStreamedWav(new Uint8Array(3)).length).toBe(3);
  });
});

describe("pcmToWav", () => {
  it("puts a 44-byte PCM header in front of the samples", () => {
    const pcm = new Uint8Array([1, 2, 3, 4]);
    const wav = pcmToWav(pcm, 24000);
    const header = view(wav);
    expect(wav.length).toBe(48);
    expect(String.fromCharCode(...wav.slice(0, 4))).toBe("RIFF");
    expect(header.getUint32(4, true)).toBe(40);
    expect(String.fromCharCode(...wav.slice(8, 16))).toBe("WAVEfmt ");
    expect(header.getUint16(20, true)).toBe(1);
    expect(header.getUint16(22, true)).toBe(1);
    expect(header.getUint32(24, true)).toBe(24000);
    expect(header.getUint32(28, true)).toBe(48000);
    expect(header.getUint16(34, true)).toBe(16);
    expect(header.getUint32(40, true)).toBe(4);
    expect([...wav.slice(44)]).toEqual([1, 2, 3, 4]);
  });
});

describe("readCost", () => {
  it("reads the cost headers", () => {
    const cost = readCost(new Headers({
      "X-Characters": "42",
      "X-Audio-Duration-Ms": "3120",
      "X-Processing-Time-Ms": "87",
      "X-Quota-Characters-Remaining": "9958",
      "X-Quota-Seconds-Remaining": "1796.880",
      "X-Cache": "HIT",
      "X-Voice": "en_US-joe-medium",
      "X-Sample-Rate": "22050",
    }));
    expect(cost).toEqual({
      characters: 42,
      audioMs: 3120,
      processingMs: 87,
      charactersRemaining: 9958,
      secondsRemaining: 1796.88,
      cache: "HIT",
      voice: "en_US-joe-medium",
      sampleRate: 22050,
    });
  });

  it("leaves missing headers null (a stream's headers come before its audio)", () => {
    const cost = readCost(new Headers({ "X-Characters": "900", "X-Cache": "miss" }));
    expect(cost.characters).toBe(900);
    expect(cost.cache).toBe("MISS");
    expect(cost.audioMs).toBeNull();
    expect(cost.charactersRemaining).toBeNull();
    expect(cost.voice).toBeNull();
  });

  it("reads the server's huge 'no cap' remainders as unlimited", () => {
    const cost = readCost(new Headers({
      "X-Quota-Characters-Remaining": String(2n ** 62n - 500n),
      "X-Quota-Seconds-Remaining": "4611686018427387.500",
    }));
    expect(cost.charactersRemaining).toBe(Infinity);
    expect(cost.secondsRemaining).toBe(Infinity);
  });
});

describe("ObjectUrls", () => {
  it("revokes everything it made", () => {
    let next = 0;
    const created: string[] = [];
    const revoked: string[] = [];
    vi.spyOn(URL, "createObjectURL").mockImplementation(() => {
      const url = `blob:test/${next++}`;
      created.push(url);
      return url;
    });
    vi.spyOn(URL, "revokeObjectURL").mockImplementation((url) => void revoked.push(url));
    const urls = new ObjectUrls();
    urls.create(new Blob(["a"]));
    urls.create(new Blob(["b"]));
    expect(urls.size).toBe(2);
    urls.revokeAll();
    expect(revoked).toEqual(created);
    expect(urls.size).toBe(0);
    vi.restoreAllMocks();
  });
});

it("concatenates chunks", () => {
  expect([...concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])])]).toEqual([1, 2, 3]);
});
