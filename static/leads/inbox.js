// A second-opinion request: play the clip from the moment the reviewer asked about.

const audio = document.getElementById("clip-audio");
const button = document.getElementById("play-moment");
if (audio && button) {
  const moment = Number(audio.dataset.moment || 0);
  button.addEventListener("click", () => {
    const start = () => {
      audio.currentTime = Math.max(0, moment - 0.5);
      audio.play();
    };
    if (audio.readyState >= 1) start();
    else audio.addEventListener("loadedmetadata", start, { once: true });
  });
}
