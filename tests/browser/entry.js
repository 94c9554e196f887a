// Bundled by esbuild for the page: the npm SDK's browser WebRTC transport, unmodified.
import { OpenAIRealtimeWebRTC } from '@openai/agents-realtime';

window.OpenAIRealtimeWebRTC = OpenAIRealtimeWebRTC;
