import net from 'node:net';

/**
 * Writes `raw` on a fresh TCP connection to 127.0.0.1:`port` and reads until the server closes it:
 * for requests no HTTP client would send (control characters, oversized headers, not HTTP at all).
 */
export function rawExchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(raw);
  });
}
