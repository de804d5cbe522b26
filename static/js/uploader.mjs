// Resumable footage uploads: tus-js-client (loaded before this module as window.tus) behind a
// GOV.UK-styled file list. Without JavaScript the same form posts the files in one request.
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 120000];
const STATUS = {
  waiting: ["Waiting", "govuk-tag--grey"],
  uploading: ["Uploading", "govuk-tag--light-blue"],
  offline: ["Waiting for a connection", "govuk-tag--yellow"],
  checking: ["Checking", "govuk-tag--blue"],
  uploaded: ["Uploaded", "govuk-tag--green"],
  failed: ["Failed: try again", "govuk-tag--red"],
  refused: ["Not accepted", "govuk-tag--red"],
};

function formatSize(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${size} bytes` : `${size.toFixed(size < 10 ? 1 : 0)} ${units[unit]}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

class FileRow {
  constructor(uploader, file) {
    this.uploader = uploader;
    this.file = file;
    this.announced = -1;
    this.state = "waiting";
    this.node = element("li", "app-uploader__file");
    const name = element("p", "govuk-body govuk-!-font-weight-bold govuk-!-margin-bottom-1 app-uploader__name", file.name);
    this.tag = element("strong", "govuk-tag");
    this.progress = element("progress", "app-uploader__progress");
    this.progress.max = 100;
    this.progress.value = 0;
    this.progress.setAttribute("aria-label", `Upload progress for ${file.name}`);
    this.detail = element("p", "govuk-body-s govuk-!-margin-bottom-1 app-uploader__detail");
    this.message = element("p", "govuk-error-message app-uploader__message");
    this.message.hidden = true;
    this.actions = element("p", "govuk-body-s app-uploader__actions");
    this.retryButton = this.button("Try again", `Try uploading ${file.name} again`, () => this.start());
    this.removeButton = this.button("Remove", `Remove ${file.name}`, () => this.remove());
    const meta = element("p", "govuk-body-s govuk-!-margin-bottom-1");
    meta.append(`${formatSize(file.size)} `, this.tag);
    this.node.append(name, meta, this.progress, this.detail, this.message, this.actions);
    this.actions.append(this.retryButton, " ", this.removeButton);
    this.setState("waiting");
  }

  button(text, label, action) {
    const button = element("button", "govuk-button govuk-button--secondary govuk-!-margin-bottom-0", text);
    button.type = "button";
    button.setAttribute("aria-label", label);
    button.addEventListener("click", action);
    return button;
  }

  setState(state, message) {
    this.state = state;
    const [label, colour] = STATUS[state];
    this.tag.className = `govuk-tag ${colour}`;
    this.tag.textContent = label;
    this.retryButton.hidden = state !== "failed";
    // Received files are evidence: they stay, so only unfinished ones can be removed.
    this.removeButton.hidden = state === "uploaded" || state === "checking";
    this.message.hidden = !message;
    this.message.textContent = message ? message : "";
    this.uploader.changed();
  }

  get active() {
    return ["waiting", "uploading", "offline", "checking"].includes(this.state);
  }

  start() {
    const { endpoint, token, reference, chunkSize } = this.uploader.options;
    this.setState("uploading");
    this.upload = new window.tus.Upload(this.file, {
      endpoint,
      chunkSize,
      retryDelays: RETRY_DELAYS,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: this.file.name, filetype: this.file.type },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // Per submission, so the same file sent for two appeals never resumes the wrong upload.
      fingerprint: (file) =>
        Promise.resolve(["app-upload", reference, file.name, file.type, file.size, file.lastModified].join("/")),
      onShouldRetry: (error) => {
        const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        const transient = status === 0 || status >= 500 || [409, 423, 429].includes(status);
        return transient && navigator.onLine;
      },
      onProgress: (sent, total) => this.progressed(sent, total),
      onSuccess: () => {
        this.setState("uploaded");
        this.uploader.announce(`${this.file.name} uploaded.`);
        this.uploader.showUnfinished();
      },
      onError: (error) => this.failed(error),
    });
    this.upload.findPreviousUploads().then((previous) => {
      if (previous.length) this.upload.resumeFromPreviousUpload(previous[0]);
      this.upload.start();
    });
  }

  progressed(sent, total) {
    const percent = total ? Math.floor((sent / total) * 100) : 0;
    this.progress.value = percent;
    this.detail.textContent = `${percent}% uploaded (${formatSize(sent)} of ${formatSize(total)})`;
    if (sent === total) {
      this.setState("checking");
    } else if (this.state !== "uploading") {
      this.setState("uploading");
    }
    const step = Math.floor(percent / 10);
    if (step > this.announced) {
      this.announced = step;
      this.uploader.announce(`${this.file.name}: ${percent}% uploaded.`);
    }
  }

  failed(error) {
    if (!navigator.onLine) {
      this.setState("offline");
      this.uploader.announce(`${this.file.name}: waiting for a connection. It will carry on by itself.`);
      return;
    }
    const response = error.originalResponse;
    const body = response ? response.getBody() : "";
    const status = response ? response.getStatus() : 0;
    if (status >= 400 && status < 500 && body) {
      // The server refused this file (type, size, duplicate, too many): trying again would not help.
      this.setState("refused", body);
      this.uploader.announce(`${this.file.name} not accepted: ${body}`);
      return;
    }
    const message = "The upload stopped. Check your connection and try again. Your information has already been sent.";
    this.setState("failed", message);
    this.uploader.announce(`${this.file.name} failed: ${message}`);
  }

  resumeWhenOnline() {
    if (this.state === "offline") this.start();
  }

  remove() {
    const done = this.upload ? this.upload.abort(true).catch(() => {}) : Promise.resolve();
    done.finally(() => {
      this.node.remove();
      this.uploader.removeRow(this);
      this.uploader.announce(`${this.file.name} removed.`);
    });
  }
}

class Uploader {
  constructor(root) {
    this.root = root;
    this.options = {
      endpoint: root.dataset.endpoint,
      token: root.dataset.token,
      reference: root.dataset.reference,
      chunkSize: Number(root.dataset.chunkSize),
    };
    this.rows = [];
    this.input = root.querySelector("input[type=file]");
    this.list = root.querySelector(".app-uploader__list");
    this.files = root.querySelector(".app-uploader__files");
    this.total = root.querySelector(".app-uploader__total");
    this.status = root.querySelector(".app-uploader__status");
    this.label = root.querySelector("label[for=files]");
    root.querySelector(".app-uploader__submit").hidden = true;
    root.querySelector(".app-uploader__nojs-limit").hidden = true;
    root.querySelector("form").addEventListener("submit", (event) => event.preventDefault());
    this.input.addEventListener("change", () => this.add(Array.from(this.input.files)));
    window.addEventListener("online", () => this.rows.forEach((row) => row.resumeWhenOnline()));
    window.addEventListener("beforeunload", (event) => {
      if (this.rows.some((row) => row.active)) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    document.addEventListener("visibilitychange", () => this.holdWakeLock());
    this.showUnfinished();
  }

  showUnfinished() {
    // tus-js-client keeps each unfinished upload under "tus::<fingerprint>::<random>".
    const prefix = `tus::app-upload/${this.options.reference}/`;
    window.tus.defaultOptions.urlStorage.findAllUploads().then((uploads) => {
      const unfinished = uploads.some((upload) => (upload.urlStorageKey || "").startsWith(prefix));
      this.root.querySelector(".app-uploader__resume").hidden = !unfinished;
      if (unfinished) this.files.hidden = false;
    });
  }

  add(files) {
    for (const file of files) {
      const row = new FileRow(this, file);
      this.list.append(row.node);
      const same = this.rows.find(
        (other) => other.file.name === file.name && other.file.size === file.size && other.file.lastModified === file.lastModified,
      );
      this.rows.push(row);
      if (same) {
        row.setState("refused", "You've already added this file.");
      } else if (file.size === 0) {
        row.setState("refused", `${file.name} is empty.`);
      } else {
        row.start();
      }
    }
    // Clearing the input lets the same control add another file, and choosing a file again resume it.
    this.input.value = "";
    this.label.textContent = "Add another file";
    this.files.hidden = false;
    this.changed();
  }

  removeRow(row) {
    this.rows = this.rows.filter((other) => other !== row);
    this.changed();
  }

  changed() {
    if (!this.total) return;
    const sending = this.rows.filter((row) => row.state !== "refused");
    const bytes = sending.reduce((sum, row) => sum + row.file.size, 0);
    const count = sending.length;
    this.total.textContent = count
      ? `${count} file${count === 1 ? "" : "s"}, ${formatSize(bytes)} in total.` +
        (bytes > 100e6 ? " Large files can use a lot of mobile data: use Wi-Fi if you can." : "")
      : "";
    this.holdWakeLock();
  }

  announce(text) {
    this.status.textContent = text;
  }

  // Keep a phone's screen on while files upload: many phones pause a page whose screen has gone off.
  async holdWakeLock() {
    const wanted = this.rows.some((row) => row.active) && document.visibilityState === "visible";
    if (!("wakeLock" in navigator)) return;
    if (wanted && !this.wakeLock) {
      try {
        this.wakeLock = await navigator.wakeLock.request("screen");
        this.wakeLock.addEventListener("release", () => {
          this.wakeLock = null;
        });
      } catch {
        this.wakeLock = null;
      }
    } else if (!wanted && this.wakeLock) {
      const lock = this.wakeLock;
      this.wakeLock = null;
      lock.release();
    }
  }
}

if (window.tus && window.tus.isSupported) {
  document.querySelectorAll("[data-module=app-uploader]").forEach((root) => new Uploader(root));
}
