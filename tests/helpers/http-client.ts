export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Microversion to send; omit for none (1.0). */
  version?: string;
  headers?: Record<string, string>;
  /** Send this exact text as the body (with the given headers). */
  rawBody?: string;
}

export type VersionedClient = {
  [M in 'get' | 'put' | 'post' | 'delete' | 'patch']: <T = any>(
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<ApiResponse<T>>;
};

export interface HttpClient {
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** A client that sends `version` (and `headers`, e.g. another token or roles) on every request unless told otherwise. */
  at(version: string, headers?: Record<string, string>): VersionedClient;
}

/**
 * Speaks HTTP to one running instance of the service, as admin unless the headers say otherwise.
 * Shared by startTestServer and startAppInstance so every test sends requests the same way.
 */
export function httpClient(baseUrl: string): HttpClient {
  const request = async <T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = {
      'x-auth-token': 'admin',
      accept: 'application/json',
      ...(options.headers ?? {}),
    };
    if (options.version) headers['openstack-api-version'] = `placement ${options.version}`;
    // Raw bodies go as bytes so fetch adds no content type of its own.
    let body: string | Uint8Array | undefined =
      options.rawBody === undefined ? undefined : Buffer.from(options.rawBody);
    if (options.body !== undefined && body === undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(baseUrl + path, { method, headers, body });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: parseJson(text) as T, text };
  };
  const at = (version: string, defaults: Record<string, string> = {}): VersionedClient => {
    const send =
      (method: string) =>
      <T>(path: string, body?: unknown, headers?: Record<string, string>) =>
        request<T>(method, path, { body, version, headers: { ...defaults, ...headers } });
    return { get: send('GET'), put: send('PUT'), post: send('POST'), delete: send('DELETE'), patch: send('PATCH') };
  };
  return { request, at };
}

/** The body as JSON, or undefined when it is empty or not JSON (tests then look at `text`). */
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
