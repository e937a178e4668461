import { ApiError, api } from "../api/client";
import { speak } from "./speechRequest";
import { ObjectUrls } from "./ttsAudio";

const blobs = new Map<string, Blob>();

beforeEach(() => {
  let next = 0;
  blobs.clear();
  URL.createObjectURL = vi.fn((source: Blob | MediaSource) => {
    const url = `blob:test/${next++}`;
    if (source instanceof Blob) blobs.set(url, source);
    return url;
  });
  URL.revokeObjectURL = vi.fn((url: string) => void blobs.delete(url));
});

afterEach(() => vi.restoreAllMocks());

function audioResponse(body: BodyInit | null, headers: Record<string, string>, status = 200) {
  return new Response(body, { status, headers });
}

function streamOf(chunks: Uint8Array[], failAfter = false): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk) controller.enqueue(chunk);
      else if (failAfter) controller.error(new TypeError("network error"));
      else controller.close();
    },
  });
}

async function bytesOf(url: string): Promise<number[]> {
  const blob = blobs.get(url);
  if (!blob) throw new Error(`no blob for ${url}`);
  // jsdom's Blob has no arrayBuffer(): read it the old way.
  const buffer = await new Promise<ArrayBuffer>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as ArrayBuffer);
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(blob);
  });
  return [...new Uint8Array(buffer)];
}

const body = { text: "Hello", voice: "en_US-joe-medium", speed: 1, format: "mp3" as const };

describe("speak (whole file)", () => {
  it("posts the body to /account/tts and returns a playable URL with the cost", async () => {
    const response = audioResponse(new Uint8Array([1, 2, 3]), {
      "Content-Type": "audio/mpeg",
      "X-Characters": "5",
      "X-Audio-Duration-Ms": "640",
      "X-Processing-Time-Ms": "31",
      "X-Cache": "MISS",
      "X-Voice": "en_US-joe-medium",
    });
    const post = vi.spyOn(api, "POST").mockResolvedValue({ data: await response.clone().blob(), error: undefined, response } as never);
    const urls = new ObjectUrls();
    const onHeaders = vi.fn();
    const result = await speak(body, urls, { onHeaders });

    expect(post).toHaveBeenCalledWith("/account/tts", expect.objectContaining({ body, parseAs: "blob" }));
    expect(result.cost.characters).toBe(5);
    expect(result.cost.audioMs).toBe(640);
    expect(onHeaders).toHaveBeenCalledWith(result.cost);
    expect(result.playbackUrl).toBe(result.downloadUrl);
    expect(await bytesOf(result.downloadUrl)).toEqual([1, 2, 3]);
    expect(blobs.get(result.downloadUrl)?.type).toBe("audio/mpeg");
    expect(result.streamed).toBe(false);
    urls.revokeAll();
    expect(blobs.size).toBe(0);
  });

  it("throws the server's error as an ApiError", async () => {
    const error = { detail: "monthly character quota exceeded", code: "quota_exceeded", quota: {}, resets_at: "2030-01-01T00:00:00Z" };
    const response = new Response(JSON.stringify(error), { status: 429, headers: { "Retry-After": "30" } });
    vi.spyOn(api, "POST").mockResolvedValue({ data: undefined, error, response } as never);
    const failure = speak(body, new ObjectUrls());
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await failure.catch((caught: ApiError) => {
      expect(caught.status).toBe(429);
      expect(caught.code).toBe("quota_exceeded");
      expect(caught.retryAfter).toBe(30);
    });
  });

  it("plays raw PCM as WAV and downloads it raw", async () => {
    const response = audioResponse(new Uint8Array([9, 9]), { "X-Sample-Rate": "16000" });
    vi.spyOn(api, "POST").mockResolvedValue({ data: await response.clone().blob(), error: undefined, response } as never);
    const result = await speak({ ...body, format: "pcm" }, new ObjectUrls());
    expect(result.playbackUrl).not.toBe(result.downloadUrl);
    expect(await bytesOf(result.downloadUrl)).toEqual([9, 9]);
    const wav = await bytesOf(result.playbackUrl);
    expect(wav.length).toBe(46);
    expect(blobs.get(result.playbackUrl)?.type).toBe("audio/wav");
  });
});

describe("speak (stream, whole body)", () => {
  it("takes a stream this browser cannot play as it arrives in one native read", async () => {
    const response = audioResponse(new Uint8Array([1, 2, 3]), { "X-Characters": "420", "X-Cache": "MISS" });
    const post = vi.spyOn(api, "POST").mockResolvedValue({ data: await response.clone().blob(), error: undefined, response } as never);
    const result = await speak({ ...body, format: "opus" }, new ObjectUrls(), { stream: true });

    expect(post).toHaveBeenCalledWith("/account/tts/stream", expect.objectContaining({ parseAs: "blob" }));
    expect(result.streamed).toBe(true);
    expect(result.playedWhileStreaming).toBe(false);
    expect(result.firstByteMs).toBeNull();
    expect(result.cost.characters).toBe(420);
    expect(await bytesOf(result.downloadUrl)).toEqual([1, 2, 3]);
    expect(blobs.get(result.downloadUrl)?.type).toBe("audio/ogg");
  });

  it("writes the real sizes into a streamed WAV", async () => {
    const header = [..."RIFF"].map((c) => c.charCodeAt(0)).concat([255, 255, 255, 255], [..."WAVEdata"].map((c) => c.charCodeAt(0)), [255, 255, 255, 255]);
    const response = audioResponse(new Uint8Array([...header, 1, 2, 3, 4]), {});
    vi.spyOn(api, "POST").mockResolvedValue({ data: await response.clone().blob(), error: undefined, response } as never);
    const result = await speak({ ...body, format: "wav" }, new ObjectUrls(), { stream: true });
    const bytes = new Uint8Array(await bytesOf(result.downloadUrl));
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(4, true)).toBe(bytes.length - 8);
    expect(view.getUint32(16, true)).toBe(4);
    expect(result.playbackUrl).toBe(result.downloadUrl);
  });
});

/** Enough of Media Source Extensions to follow what the page feeds it. */
class FakeSourceBuffer extends EventTarget {
  updating = false;
  appended: number[][] = [];
  appendBuffer(data: ArrayBuffer) {
    this.updating = true;
    this.appended.push([...new Uint8Array(data)]);
    setTimeout(() => {
      this.updating = false;
      this.dispatchEvent(new Event("updateend"));
    });
  }
}

class FakeMediaSource extends EventTarget {
  static instances: FakeMediaSource[] = [];
  static isTypeSupported = (type: string) => type === "audio/mpeg";
  readyState: "closed" | "open" | "ended" = "closed";
  buffers: FakeSourceBuffer[] = [];
  constructor() {
    super();
    FakeMediaSource.instances.push(this);
  }
  addSourceBuffer() {
    const buffer = new FakeSourceBuffer();
    this.buffers.push(buffer);
    return buffer;
  }
  endOfStream() {
    this.readyState = "ended";
  }
  /** What a media element does when it is given the object URL. */
  attach() {
    this.readyState = "open";
    this.dispatchEvent(new Event("sourceopen"));
  }
}

describe("speak (stream, played as it arrives)", () => {
  beforeEach(() => {
    FakeMediaSource.instances = [];
    vi.stubGlobal("MediaSource", FakeMediaSource);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("feeds an MP3 stream to a MediaSource chunk by chunk, then offers the whole file", async () => {
    const chunks = [new Uint8Array([1, 2]), new Uint8Array([3])];
    const response = audioResponse(null, { "X-Characters": "420", "X-Cache": "MISS" });
    const post = vi.spyOn(api, "POST").mockResolvedValue({ data: streamOf(chunks), error: undefined, response } as never);
    const progress: number[] = [];
    const streamUrls: string[] = [];
    const result = await speak(body, new ObjectUrls(), {
      stream: true,
      onProgress: (bytes) => progress.push(bytes),
      onStreamUrl: (url) => {
        streamUrls.push(url);
        FakeMediaSource.instances[0]?.attach();
      },
    });

    expect(post).toHaveBeenCalledWith("/account/tts/stream", expect.objectContaining({ body, parseAs: "stream" }));
    const source = FakeMediaSource.instances[0]!;
    expect(source.buffers[0]?.appended).toEqual([[1, 2], [3]]);
    expect(source.readyState).toBe("ended");
    expect(progress).toEqual([2, 3]);
    expect(result.playedWhileStreaming).toBe(true);
    expect(result.playbackUrl).toBe(streamUrls[0]);
    expect(result.firstByteMs).not.toBeNull();
    expect(result.partial).toBe(false);
    expect(await bytesOf(result.downloadUrl)).toEqual([1, 2, 3]);
  });

  it("keeps what arrived when the stream breaks off", async () => {
    const response = audioResponse(null, {});
    vi.spyOn(api, "POST").mockResolvedValue({ data: streamOf([new Uint8Array([5])], true), error: undefined, response } as never);
    const result = await speak(body, new ObjectUrls(), { stream: true, onStreamUrl: () => FakeMediaSource.instances[0]?.attach() });
    expect(result.partial).toBe(true);
    expect(await bytesOf(result.downloadUrl)).toEqual([5]);
  });

  it("rethrows when nothing arrived, and leaves no URL behind", async () => {
    const response = audioResponse(null, {});
    vi.spyOn(api, "POST").mockResolvedValue({ data: streamOf([], true), error: undefined, response } as never);
    const urls = new ObjectUrls();
    await expect(speak(body, urls, { stream: true, onStreamUrl: () => FakeMediaSource.instances[0]?.attach() })).rejects.toThrow("network error");
    expect(urls.size).toBe(0);
  });

  it("plays the whole file instead when the MediaSource refuses the audio", async () => {
    const response = audioResponse(null, {});
    vi.spyOn(api, "POST").mockResolvedValue({ data: streamOf([new Uint8Array([1]), new Uint8Array([2])]), error: undefined, response } as never);
    vi.spyOn(FakeSourceBuffer.prototype, "appendBuffer").mockImplementation(() => {
      throw new DOMException("bad data", "InvalidStateError");
    });
    const urls = new ObjectUrls();
    const result = await speak(body, urls, { stream: true, onStreamUrl: () => FakeMediaSource.instances[0]?.attach() });
    expect(result.playedWhileStreaming).toBe(false);
    expect(result.playbackUrl).toBe(result.downloadUrl);
    expect(await bytesOf(result.downloadUrl)).toEqual([1, 2]);
    expect(urls.size).toBe(1); // the MediaSource's URL was let go
  });

  it("is not used for formats MSE cannot take", async () => {
    const response = audioResponse(new Uint8Array([1]), {});
    const post = vi.spyOn(api, "POST").mockResolvedValue({ data: await response.clone().blob(), error: undefined, response } as never);
    await speak({ ...body, format: "flac" }, new ObjectUrls(), { stream: true });
    expect(post).toHaveBeenCalledWith("/account/tts/stream", expect.objectContaining({ parseAs: "blob" }));
    expect(FakeMediaSource.instances).toHaveLength(0);
  });
});
