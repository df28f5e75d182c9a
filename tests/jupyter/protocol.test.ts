import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { ProtocolError, Session, channelAddress } from '../../lib/jupyter/protocol.js';

describe('Session wire format', () => {
  const session = new Session('secret-key', 'session-1');

  test('frames are [ids, <IDS|MSG>, HMAC-SHA256 of the four JSON parts, parts]', () => {
    const message = session.message('execute_request', { code: '1 + 1' });
    const frames = session.serialize(message);
    assert.equal(frames[0].toString(), '<IDS|MSG>');
    const parts = frames.slice(2, 6);
    const expected = createHmac('sha256', 'secret-key').update(parts[0]).update(parts[1]).update(parts[2]).update(parts[3]).digest('hex');
    assert.equal(frames[1].toString(), expected);
    assert.deepEqual(JSON.parse(parts[0].toString()).msg_type, 'execute_request');
    assert.equal(JSON.parse(parts[0].toString()).session, 'session-1');
    assert.deepEqual(JSON.parse(parts[3].toString()), { code: '1 + 1' });
  });

  test('round trip keeps routing identities, content and buffers (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 2 }), fc.array(fc.uint8Array({ minLength: 1, maxLength: 8 }), { maxLength: 2 }), (value, ids, buffers) => {
        const message = session.message('display_data', { value });
        message.identities = ids.map((id) => Buffer.from(id)).filter((id) => !id.equals(Buffer.from('<IDS|MSG>')));
        message.buffers = buffers.map((buffer) => Buffer.from(buffer));
        const back = session.deserialize(session.serialize(message));
        assert.deepEqual(back.content, JSON.parse(JSON.stringify({ value })));
        assert.deepEqual(back.header, message.header);
        assert.deepEqual(back.identities, message.identities);
        assert.deepEqual(back.buffers, message.buffers);
      }),
      { numRuns: 200 },
    );
  });

  test('a tampered part, a wrong key or a missing delimiter is refused', () => {
    const frames = session.serialize(session.message('status', { execution_state: 'idle' }));
    const tampered = frames.slice();
    tampered[5] = Buffer.from('{"execution_state":"busy"}');
    assert.throws(() => session.deserialize(tampered), ProtocolError);
    assert.throws(() => new Session('other-key').deserialize(frames), /signature does not match/);
    assert.throws(() => session.deserialize(frames.slice(1)), /delimiter/);
    assert.throws(() => session.deserialize(frames.slice(0, 4)), /parts after the delimiter/);
  });

  test('channel addresses come from the connection info', () => {
    const info = { transport: 'tcp' as const, ip: '127.0.0.1', shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, key: 'k', signature_scheme: 'hmac-sha256' as const };
    assert.equal(channelAddress(info, 'iopub'), 'tcp://127.0.0.1:2');
    assert.equal(channelAddress(info, 'hb'), 'tcp://127.0.0.1:5');
  });
});
