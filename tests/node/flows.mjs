// The tutorial's flows and a streamed run, written for the Assistants API with the official
// Node SDK. Only `baseURL` and `apiKey` point at `assistants-compat serve`.
// Usage: COMPAT_BASE_URL=http://127.0.0.1:8000/v1 COMPAT_API_KEY=sk-compat-... node flows.mjs FLOW
// Prints one JSON line with what the flow saw; exits non-zero on any error.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.COMPAT_BASE_URL,
  apiKey: process.env.COMPAT_API_KEY,
  maxRetries: 0,
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function assistantTexts(threadId) {
  const messages = await client.beta.threads.messages.list(threadId);
  return messages.data
    .filter((m) => m.role === "assistant")
    .map((m) => m.content.map((c) => (c.type === "text" ? c.text.value : "")).join(""));
}

// Basic usage: create an assistant, a thread, a message; run; check the status; read.
async function quickstart() {
  const assistant = await client.beta.assistants.create({
    name: "General Knowledge Assistant",
    instructions: "You are a helpful assistant that answers general knowledge questions.",
    model: "gpt-4o",
  });
  const thread = await client.beta.threads.create();
  await client.beta.threads.messages.create(thread.id, {
    role: "user",
    content: "What are the major planets in our solar system?",
  });
  let run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id });
  while (run.status === "queued" || run.status === "in_progress") {
    await sleep(100);
    run = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id });
  }
  return { status: run.status, answers: await assistantTexts(thread.id) };
}

// Integrating tools: the code interpreter.
async function codeInterpreter() {
  const assistant = await client.beta.assistants.create({
    name: "Python Coding Assistant",
    instructions: "You are a Python expert. Write and run code to answer.",
    model: "gpt-4o",
    tools: [{ type: "code_interpreter" }],
  });
  const thread = await client.beta.threads.create();
  await client.beta.threads.messages.create(thread.id, {
    role: "user",
    content: "Write a Python function to check if a number is prime and test it on 17.",
  });
  const run = await client.beta.threads.runs.createAndPoll(thread.id, {
    assistant_id: assistant.id,
  });
  const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id });
  return {
    status: run.status,
    stepTypes: steps.data.map((s) => s.step_details.type),
    answers: await assistantTexts(thread.id),
  };
}

// Managing persistent conversations: the second turn recalls the first.
async function conversation() {
  const assistant = await client.beta.assistants.create({
    name: "Memory Assistant",
    instructions: "Remember what the user tells you.",
    model: "gpt-4o",
  });
  const thread = await client.beta.threads.create();
  const turns = ["Hi, my name is Ada.", "What was my name again?"];
  const statuses = [];
  for (const content of turns) {
    await client.beta.threads.messages.create(thread.id, { role: "user", content });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, {
      assistant_id: assistant.id,
    });
    statuses.push(run.status);
  }
  const all = await client.beta.threads.messages.list(thread.id, { order: "asc" });
  return { statuses, count: all.data.length, answers: await assistantTexts(thread.id) };
}

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the current weather in a given location.",
    parameters: {
      type: "object",
      properties: {
        location: { type: "string" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
      },
      required: ["location"],
    },
  },
};

function getWeather(args) {
  return JSON.stringify({ temperature: 22.79, unit: args.unit ?? "celsius", location: args.location });
}

// Function calling: requires_action, then submitToolOutputs, as the tutorial's loop does.
async function weather() {
  const assistant = await client.beta.assistants.create({
    name: "Weather Assistant",
    instructions: "Use get_weather to answer weather questions.",
    model: "gpt-4o",
    tools: [{ type: "code_interpreter" }, weatherTool],
  });
  const thread = await client.beta.threads.create();
  await client.beta.threads.messages.create(thread.id, {
    role: "user",
    content: "What's the weather in Paris in celsius?",
  });
  let run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id });
  const calls = [];
  for (;;) {
    run = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id });
    if (run.status === "requires_action") {
      const toolCalls = run.required_action.submit_tool_outputs.tool_calls;
      const outputs = toolCalls.map((call) => {
        calls.push([call.function.name, JSON.parse(call.function.arguments)]);
        return { tool_call_id: call.id, output: getWeather(JSON.parse(call.function.arguments)) };
      });
      run = await client.beta.threads.runs.submitToolOutputs(run.id, {
        thread_id: thread.id,
        tool_outputs: outputs,
      });
    } else if (["completed", "failed", "cancelled", "expired", "incomplete"].includes(run.status)) {
      break;
    } else {
      await sleep(100);
    }
  }
  return { status: run.status, calls, answers: await assistantTexts(thread.id) };
}

// A streamed run with AssistantStream handlers; tool outputs submitted from the stream.
async function streaming() {
  const assistant = await client.beta.assistants.create({
    name: "Streaming Weather Assistant",
    model: "gpt-4o",
    tools: [weatherTool],
  });
  const thread = await client.beta.threads.create({
    messages: [{ role: "user", content: "What's the weather in Oslo?" }],
  });
  const events = [];
  let text = "";
  const toolCalls = [];
  const handle = (stream) =>
    stream
      .on("event", (e) => events.push(e.event))
      .on("textDelta", (delta) => {
        text += delta.value ?? "";
      })
      .on("toolCallDone", (call) => toolCalls.push(call.function?.name));
  let stream = handle(client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id }));
  let run = await stream.finalRun();
  while (run.status === "requires_action") {
    const outputs = run.required_action.submit_tool_outputs.tool_calls.map((call) => ({
      tool_call_id: call.id,
      output: getWeather(JSON.parse(call.function.arguments)),
    }));
    stream = handle(
      client.beta.threads.runs.submitToolOutputsStream(run.id, {
        thread_id: thread.id,
        tool_outputs: outputs,
        stream: true,
      }),
    );
    run = await stream.finalRun();
  }
  return { status: run.status, events, text, toolCalls };
}

// Another tenant's thread: the same 404 as a missing one.
async function isolation() {
  try {
    await client.beta.threads.retrieve(process.argv[3]);
    return { status: 200 };
  } catch (err) {
    return { status: err.status, message: err.error?.message ?? String(err) };
  }
}

const flows = { quickstart, codeInterpreter, conversation, weather, streaming, isolation };
const flow = flows[process.argv[2]];
if (!flow) {
  console.error(`unknown flow ${process.argv[2]}; one of ${Object.keys(flows).join(", ")}`);
  process.exit(2);
}
console.log(JSON.stringify(await flow()));
