package tracking_test

import (
	"regexp"
	"testing"

	"github.com/partnerloop/partnerloop/internal/tracking"
)

// originalBotRe is the regular expression IsBot used before it became
// substring searches; IsBot must still answer as it did.
var originalBotRe = regexp.MustCompile(`(?i)` +
	`\bbot\b|bot/|bot;|bot\)|robot|crawl|spider|slurp|facebookexternalhit|facebot|embedly|quora link preview|` +
	`outbrain|pinterestbot|pinterest/0\.|vkshare|w3c_validator|whatsapp|telegrambot|skypeuripreview|preview|discordbot|` +
	`linkedinbot|slackbot|twitterbot|googlebot|bingbot|yandex|baiduspider|duckduckbot|applebot|` +
	`petalbot|semrush|ahrefs|mj12bot|dotbot|uptimerobot|pingdom|statuscake|lighthouse|` +
	`\bcurl/|\bwget|\bhttpie/|go-http-client|python-requests|python-urllib|python-httpx|aiohttp|\bhttpx/|` +
	`\baxios/|node-fetch|\bundici|^node$|\bgot \(|okhttp|\bjava/|java-http-client|apache-httpclient|` +
	`libwww-perl|lwp-|\bruby\b|faraday|guzzlehttp|\bdart/|reqwest|rest-client|postmanruntime|insomnia|scrapy|` +
	`zgrab|masscan|nmap|nikto|sqlmap|` +
	`headless|phantomjs|puppeteer|playwright|selenium|webdriver|cypress|htmlunit`)

var botSeeds = []string{
	"", "node", "Node", "node ", "xnode", "bot", "a bot b", "abot", "bota", "robot", "Bot/1", "cubot x50", "CUBOT_KINGKONG_7",
	"curl/8.5", "xcurl/8", "-curl/8", "wget", "Wget/1.21", "awget", "got (sindresorhus)", "forgot (x)", "Ruby", "rubyist", "ruby/3",
	"Java/17", "JavaScript/1", "dart/3", "undici", "xundici", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Pinterest/0.2", "[Pinterest/iOS]",
	"Spider", "\u212Aubernetes bot", "Mozilla/5.0 ÄÖÜ Firefox", "ÄBOT", "bot_x", "x_bot", "HeadlessChrome/124", "nmap", "Apache-HttpClient/4.5",
}

func TestIsBotAnswersAsTheRegexpDid(t *testing.T) {
	for _, ua := range botSeeds {
		if got, want := tracking.IsBot(ua), ua == "" || originalBotRe.MatchString(ua); got != want {
			t.Errorf("IsBot(%q) = %v, the regexp says %v", ua, got, want)
		}
	}
}

func FuzzIsBotAnswersAsTheRegexpDid(f *testing.F) {
	for _, ua := range botSeeds {
		f.Add(ua)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		if got, want := tracking.IsBot(ua), ua == "" || originalBotRe.MatchString(ua); got != want {
			t.Errorf("IsBot(%q) = %v, the regexp says %v", ua, got, want)
		}
	})
}

func BenchmarkIsBot(b *testing.B) {
	const ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
	for b.Loop() {
		if tracking.IsBot(ua) {
			b.Fatal("a browser")
		}
	}
}
