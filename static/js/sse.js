/*
 * Reading a text/event-stream answer (server-sent events) from fetch, for
 * the requests EventSource cannot make (a POST with a form). The format is
 * the HTML standard's: lines end in CRLF, LF or CR; "event:" names the
 * event, "data:" lines are its data (joined by LF), a line starting with
 * ":" is a comment (a keep-alive), a blank line ends the event. "id:" and
 * "retry:" are read and ignored (nothing here reconnects).
 */

// A parser fed text in any pieces; calls onEvent(type, data) for each
// complete event ("message" when it had no "event:" line). Returns
// {push(text), end()}: end() drops an event the stream cut before its end.
export function eventParser(onEvent) {
  let buffer = '';
  let type = '';
  let data = [];

  function line(text) {
    if (text === '') {
      if (data.length) onEvent(type || 'message', data.join('\n'));
      type = '';
      data = [];
      return;
    }
    if (text.charAt(0) === ':') return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.charAt(0) === ' ') value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }

  return {
    push(text) {
      buffer += text;
      // A CR at the very end may be the first half of a CRLF: wait for more.
      const re = /\r\n|\r(?!$)|\n/g;
      let start = 0;
      let m;
      while ((m = re.exec(buffer)) !== null) {
        line(buffer.slice(start, m.index));
        start = m.index + m[0].length;
      }
      buffer = buffer.slice(start);
    },
    end() {
      if (buffer.endsWith('\r')) line(buffer.slice(0, -1));
      buffer = '';
      type = '';
      data = [];
    }
  };
}

// Reads response's body to its end, calling onEvent(type, data) for each
// event. Resolves when the stream ended (or was cancelled); rejects when
// reading failed (the connection broke, or the fetch was aborted).
export async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder('utf-8');
  const parser = eventParser(onEvent);
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    parser.push(decoder.decode(chunk.value, { stream: true }));
  }
  parser.push(decoder.decode());
  parser.end();
}
