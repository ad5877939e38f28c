// The command box in every page's header: asks /api/v1/search/command what a typed or spoken
// command means and goes there; when it is not understood, offers the closest commands.
(function () {
  "use strict";
  const form = document.querySelector("form.command");
  if (!form) return;
  const input = form.querySelector("input[name=q]");
  const status = form.querySelector(".command-status");
  const mic = form.querySelector("button.mic");
  const lang = form.dataset.lang || document.documentElement.lang || "ko";

  function say(text) {
    status.textContent = text;
  }

  function offer(suggestions) {
    say(form.dataset.nothing);
    const list = document.createElement("ul");
    list.className = "command-suggestions";
    suggestions.slice(0, 5).forEach(function (s) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = s.url;
      link.textContent = s.label;
      item.appendChild(link);
      list.appendChild(item);
    });
    status.appendChild(list);
  }

  async function run(text) {
    const query = text.trim();
    if (!query) return;
    say(form.dataset.searching);
    try {
      const params = new URLSearchParams({ q: query, lang: lang });
      const response = await fetch("/api/v1/search/command?" + params.toString(), {
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(String(response.status));
      const result = await response.json();
      if (result.url) {
        window.location.assign(result.url);
        return;
      }
      if (result.suggestions && result.suggestions.length) offer(result.suggestions);
      else say(form.dataset.nothing);
    } catch (err) {
      say(form.dataset.unavailable);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run(input.value);
  });

  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (Recognition && mic) {
    mic.hidden = false;
    mic.addEventListener("click", function () {
      const recognition = new Recognition();
      recognition.lang = lang === "ko" ? "ko-KR" : "en-US";
      recognition.interimResults = false;
      recognition.onresult = function (event) {
        const heard = event.results[0][0].transcript;
        input.value = heard;
        run(heard);
      };
      recognition.onerror = function () {
        say(form.dataset.unavailable);
      };
      say(form.dataset.listening);
      recognition.start();
    });
  }
})();
