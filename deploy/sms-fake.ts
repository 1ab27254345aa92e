// The compose topology's stand-in for Twilio's Messages API (tools/peers/sms-fake.ts), so SMS
// steps work without a Twilio account: relance-worker sets TWILIO_API_BASE=http://sms-fake:8026.
// Remove the service and set TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN / TWILIO_FROM for real SMS.
import { startTwilioFake } from '../tools/peers/sms-fake';

const port = Number(process.env.SMS_FAKE_PORT ?? 8026);
const fake = await startTwilioFake({ port, host: process.env.HOST ?? '0.0.0.0' });
console.log(JSON.stringify({ msg: 'Twilio fake listening', port }));
const stop = () => void fake.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
