import { connect, type Socket } from 'node:net';

interface Pending {
  resolve: (reply: string) => void;
  reject: (err: Error) => void;
}

/**
 * One plain RESP connection to Redis for the bench's own probes (INFO, FLUSHALL). Not ioredis, so
 * the client-side command counter never sees it, and one long-lived socket, so that it counts as
 * exactly one client in `connected_clients` every time it looks.
 */
export class RawRedisConnection {
  private buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    socket.on('error', (err) => {
      for (const p of this.pending.splice(0)) p.reject(err);
    });
  }

  /**
   * Connects to a loopback Redis.
   * @param port - its port
   * @returns the open connection
   */
  static open(port: number): Promise<RawRedisConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawRedisConnection(socket)));
      socket.once('error', reject);
    });
  }

  /**
   * Sends one command and waits for its reply (simple string, integer or bulk string).
   * @param args - the command and its arguments
   * @returns the reply without its type marker
   */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      const body = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
      this.socket.write(`*${args.length}\r\n${body}`);
    });
  }

  /** Closes the socket. */
  close(): void {
    this.socket.destroy();
  }

  private drain(): void {
    for (;;) {
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return;
      const type = String.fromCharCode(this.buffer[0] ?? 0);
      const head = this.buffer.subarray(1, eol).toString('utf8');
      let reply: string;
      let used: number;
      if (type === '$') {
        const length = Number(head);
        if (length < 0) {
          reply = '';
          used = eol + 2;
        } else {
          if (this.buffer.length < eol + 2 + length + 2) return;
          reply = this.buffer.subarray(eol + 2, eol + 2 + length).toString('utf8');
          used = eol + 2 + length + 2;
        }
      } else {
        reply = head;
        used = eol + 2;
      }
      this.buffer = this.buffer.subarray(used);
      const waiter = this.pending.shift();
      if (type === '-') waiter?.reject(new Error(reply));
      else waiter?.resolve(reply);
    }
  }
}
