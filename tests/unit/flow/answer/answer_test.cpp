#include "flow/answer/answer.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace waflow::core::flow {
namespace {

using std::chrono::year_month_day;

// A fixed "today" so dates without a year are predictable: Monday 10 March 2025.
constexpr year_month_day kToday{std::chrono::year{2025}, std::chrono::month{3},
                                std::chrono::day{10}};

AnswerCheck check(AnswerKind kind, std::string_view text, year_month_day today = kToday) {
  AnswerRules rules;
  rules.kind = kind;
  return checkAnswer(rules, text, today);
}

// The value when ok; otherwise a failure naming the problem.
nlohmann::json valueOf(AnswerKind kind, std::string_view text, year_month_day today = kToday) {
  const AnswerCheck result = check(kind, text, today);
  EXPECT_TRUE(result.ok) << "'" << text << "': " << result.problem;
  EXPECT_TRUE(result.problem.empty());
  return result.value;
}

// The problem when rejected.
std::string problemOf(AnswerKind kind, std::string_view text, year_month_day today = kToday) {
  const AnswerCheck result = check(kind, text, today);
  EXPECT_FALSE(result.ok) << "'" << text << "' accepted as " << result.value.dump();
  EXPECT_TRUE(result.value.is_null());
  return result.problem;
}

// ---- text ------------------------------------------------------------------------------------

TEST(AnswerTextTest, TrimsAndRejectsEmpty) {
  EXPECT_EQ(valueOf(AnswerKind::kText, "  Mau tanya harga paket  \n"), "Mau tanya harga paket");
  EXPECT_EQ(valueOf(AnswerKind::kText, "\xC2\xA0ok\xE2\x80\x8B"), "ok");  // NBSP, zero width
  EXPECT_EQ(valueOf(AnswerKind::kText, "line one\nline two"), "line one\nline two");
  // A message cut inside a character: the value must still serialise as JSON.
  const nlohmann::json cut = valueOf(AnswerKind::kText, "ok \xF0\x9F\x98");
  EXPECT_EQ(cut, "ok \uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(cut.dump(), "\"ok \uFFFD\uFFFD\uFFFD\"");
  EXPECT_EQ(problemOf(AnswerKind::kText, ""), "expected an answer (the message is empty)");
  EXPECT_EQ(problemOf(AnswerKind::kText, " \t\n "), "expected an answer (the message is empty)");
  EXPECT_EQ(problemOf(AnswerKind::kText, "\xC2\xA0\xEF\xBB\xBF"),
            "expected an answer (the message is empty)");
}

TEST(AnswerTextTest, LuaKindReturnsTrimmedTextForTheEngine) {
  EXPECT_EQ(valueOf(AnswerKind::kLua, "  ya  "), "ya");
  EXPECT_EQ(valueOf(AnswerKind::kLua, "   "), "");
}

TEST(AnswerTextTest, RulesFromAnAskStep) {
  AskStep step;
  step.validate = AnswerKind::kNumber;
  step.min = 10;
  step.max = 2000;
  const AnswerRules rules = AnswerRules::fromStep(step);
  EXPECT_EQ(rules.kind, AnswerKind::kNumber);
  EXPECT_EQ(rules.min, 10);
  EXPECT_EQ(rules.max, 2000);
  EXPECT_EQ(rules.country_code, "62");
  EXPECT_FALSE(checkAnswer(rules, "5", kToday).ok);
  EXPECT_TRUE(checkAnswer(rules, "150 orang", kToday).ok);
}

// ---- name ------------------------------------------------------------------------------------

TEST(AnswerNameTest, AcceptsNamesAndCapitalisesThem) {
  EXPECT_EQ(valueOf(AnswerKind::kName, "Rina"), "Rina");
  EXPECT_EQ(valueOf(AnswerKind::kName, "rina wati"), "Rina Wati");
  EXPECT_EQ(valueOf(AnswerKind::kName, "RINA   WATI"), "Rina Wati");
  EXPECT_EQ(valueOf(AnswerKind::kName, "Siti Nur'aini"), "Siti Nur'aini");
  EXPECT_EQ(valueOf(AnswerKind::kName, "siti nur\u2019aini"), "Siti Nur\u2019aini");
  EXPECT_EQ(valueOf(AnswerKind::kName, "I Made Putu"), "I Made Putu");
  EXPECT_EQ(valueOf(AnswerKind::kName, "i made putu wijaya"), "I Made Putu Wijaya");
  EXPECT_EQ(valueOf(AnswerKind::kName, "anne-marie"), "Anne-Marie");
  EXPECT_EQ(valueOf(AnswerKind::kName, "muh. rizki"), "Muh. Rizki");
  EXPECT_EQ(valueOf(AnswerKind::kName, "McDonald"), "McDonald");  // mixed case is kept
}

TEST(AnswerNameTest, KeepsUtf8Intact) {
  EXPECT_EQ(valueOf(AnswerKind::kName, "jos\u00e9 \u00e1lvarez"), "Jos\u00e9 \u00c1lvarez");
  EXPECT_EQ(valueOf(AnswerKind::kName, "\u00c9LODIE"), "\u00c9lodie");
  EXPECT_EQ(valueOf(AnswerKind::kName, "\u0430\u043d\u043d\u0430"), "\u0410\u043d\u043d\u0430");
  EXPECT_EQ(valueOf(AnswerKind::kName, "\u738b\u5c0f\u660e"), "\u738b\u5c0f\u660e");
  EXPECT_EQ(valueOf(AnswerKind::kName, "\u0645\u062d\u0645\u062f"), "\u0645\u062d\u0645\u062f");
  // "e" followed by a combining acute accent stays one letter.
  EXPECT_EQ(valueOf(AnswerKind::kName, "rene\u0301"), "Rene\u0301");
}

TEST(AnswerNameTest, RemovesIntroductionsAndPoliteness) {
  EXPECT_EQ(valueOf(AnswerKind::kName, "nama saya Rina"), "Rina");
  EXPECT_EQ(valueOf(AnswerKind::kName, "Nama saya adalah Rina Wati"), "Rina Wati");
  EXPECT_EQ(valueOf(AnswerKind::kName, "saya budi"), "Budi");
  EXPECT_EQ(valueOf(AnswerKind::kName, "aku Dewi"), "Dewi");
  EXPECT_EQ(valueOf(AnswerKind::kName, "namaku Andi"), "Andi");
  EXPECT_EQ(valueOf(AnswerKind::kName, "Nama: Rina"), "Rina");
  EXPECT_EQ(valueOf(AnswerKind::kName, "My name is John Smith"), "John Smith");
  EXPECT_EQ(valueOf(AnswerKind::kName, "I'm john"), "John");
  EXPECT_EQ(valueOf(AnswerKind::kName, "i\u2019m john"), "John");
  EXPECT_EQ(valueOf(AnswerKind::kName, "Halo kak, nama saya Rina ya"), "Rina");
  EXPECT_EQ(valueOf(AnswerKind::kName, "Rina kak \xF0\x9F\x98\x8A"), "Rina");  // emoji
  EXPECT_EQ(valueOf(AnswerKind::kName, "*Rina*!"), "Rina");
  // An introduction or a greeting alone is not a name.
  for (const char* text : {"Saya", "nama saya", "My name is", "Halo!"}) {
    EXPECT_EQ(problemOf(AnswerKind::kName, text),
              "expected a name of 1 to 4 words (there is no name in the answer)");
  }
}

TEST(AnswerNameTest, RejectsWhatIsNotAName) {
  EXPECT_EQ(problemOf(AnswerKind::kName, "Rina 2"),
            "expected a name of 1 to 4 words (a name has no digits)");
  EXPECT_EQ(problemOf(AnswerKind::kName, "08123456789"),
            "expected a name of 1 to 4 words (a name has no digits)");
  EXPECT_EQ(problemOf(AnswerKind::kName, "https://example.com"),
            "expected a name of 1 to 4 words (the answer is a web address)");
  EXPECT_EQ(problemOf(AnswerKind::kName, "www.tokoku.id"),
            "expected a name of 1 to 4 words (the answer is a web address)");
  EXPECT_EQ(problemOf(AnswerKind::kName, "rina.com"),
            "expected a name of 1 to 4 words (the answer is a web address)");
  EXPECT_EQ(problemOf(AnswerKind::kName, "saya mau tanya harga paket pernikahan"),
            "expected a name of 1 to 4 words (the answer is too long for a name)");
  EXPECT_EQ(problemOf(AnswerKind::kName,
                      "Wolfeschlegelsteinhausenbergerdorff Hubert Blaine Wolfeschlegelstein"),
            "expected a name of 1 to 4 words (the answer is too long for a name)");
  EXPECT_EQ(problemOf(AnswerKind::kName, "rina@gmail.com"),
            "expected a name of 1 to 4 words (a name has only letters, not '@')");
  EXPECT_EQ(problemOf(AnswerKind::kName, "Rina \xF0\x9F\x98\x8A Wati"),
            "expected a name of 1 to 4 words (a name has only letters, not '\xF0\x9F\x98\x8A')");
  EXPECT_EQ(problemOf(AnswerKind::kName, "\xF0\x9F\x98\x8A\xF0\x9F\x98\x8A"),
            "expected a name of 1 to 4 words (there are no letters in the answer)");
  EXPECT_EQ(problemOf(AnswerKind::kName, "Rina - Wati"),
            "expected a name of 1 to 4 words ('-' is not a word)");
  // Bytes that are not UTF-8 become U+FFFD, which is not a letter (and dropped at the ends).
  EXPECT_EQ(valueOf(AnswerKind::kName, "Rina\xFF"), "Rina");
  EXPECT_EQ(problemOf(AnswerKind::kName, "Ri\xFFna"),
            "expected a name of 1 to 4 words (a name has only letters, not '\uFFFD')");
  EXPECT_EQ(problemOf(AnswerKind::kName, "  "),
            "expected a name of 1 to 4 words (the message is empty)");
}

// ---- number ----------------------------------------------------------------------------------

TEST(AnswerNumberTest, ReadsTheFirstNumber) {
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "150"), 150);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "150 orang"), 150);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "sekitar 200"), 200);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "kira-kira 10-20 orang"), 10);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "-3"), -3);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "suhu -3 derajat"), -3);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "+5"), 5);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "0"), 0);
  EXPECT_TRUE(valueOf(AnswerKind::kNumber, "150").is_number_integer());
}

TEST(AnswerNumberTest, ThousandsAndDecimalSeparators) {
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "1.500"), 1500);
  EXPECT_TRUE(valueOf(AnswerKind::kNumber, "1.500").is_number_integer());
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "Rp 1.500.000"), 1500000);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "1,500"), 1500);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "1,5"), 1.5);
  EXPECT_TRUE(valueOf(AnswerKind::kNumber, "1,5").is_number_float());
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "2.5"), 2.5);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "2.50"), 2.5);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "2.5000"), 2.5);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "0.500"), 0.5);  // a leading 0 is not thousands
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "1234.567"), 1234.567);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "1.500,50"), 1500.5);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "1,500.50"), 1500.5);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "150."), 150);  // the end of a sentence
  EXPECT_EQ(problemOf(AnswerKind::kNumber, "1.2.3"),
            "expected a number ('1.2.3' is not a clear number)");
  EXPECT_EQ(problemOf(AnswerKind::kNumber, "1.50.000"),
            "expected a number ('1.50.000' is not a clear number)");
  EXPECT_EQ(problemOf(AnswerKind::kNumber, "1,5.000"),
            "expected a number ('1,5.000' is not a clear number)");
}

TEST(AnswerNumberTest, Multipliers) {
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "150rb"), 150000);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "2 juta"), 2000000);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "1,5jt"), 1500000);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "5k"), 5000);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "5 km"), 5);
}

TEST(AnswerNumberTest, NumberWords) {
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "lima"), 5);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "sepuluh"), 10);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "sebelas"), 11);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "dua belas"), 12);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "lima puluh"), 50);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "empat puluh dua orang"), 42);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "seratus"), 100);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "sekitar dua ratus tamu"), 200);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "seratus dua puluh lima"), 125);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "seribu lima ratus"), 1500);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "dua ribu seratus"), 2100);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "sejuta"), 1000000);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "dua juta lima ratus ribu"), 2500000);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "ten"), 10);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "twenty"), 20);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "Twenty-one"), 21);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "two hundred and fifty guests"), 250);
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "nol"), 0);
  // Digits win over words.
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "dua, eh 3"), 3);
  // A run stops at a word that cannot continue it.
  EXPECT_EQ(valueOf(AnswerKind::kNumber, "dua tiga"), 2);
}

TEST(AnswerNumberTest, RangeAndProblems) {
  AnswerRules rules;
  rules.kind = AnswerKind::kNumber;
  rules.min = 10;
  rules.max = 2000;
  EXPECT_EQ(checkAnswer(rules, "10", kToday).value, 10);
  EXPECT_EQ(checkAnswer(rules, "2000", kToday).value, 2000);
  EXPECT_EQ(checkAnswer(rules, "5", kToday).problem,
            "expected a number from 10 to 2000 (5 is too small)");
  EXPECT_EQ(checkAnswer(rules, "2.500", kToday).problem,
            "expected a number from 10 to 2000 (2500 is too large)");
  EXPECT_EQ(checkAnswer(rules, "banyak", kToday).problem,
            "expected a number from 10 to 2000 (there is no number in the answer)");
  rules.max.reset();
  rules.min = 0.5;
  EXPECT_EQ(checkAnswer(rules, "0,25", kToday).problem,
            "expected a number of at least 0.5 (0.25 is too small)");
  rules.min.reset();
  rules.max = 3;
  EXPECT_EQ(checkAnswer(rules, "3,5", kToday).problem,
            "expected a number of at most 3 (3.5 is too large)");
  EXPECT_EQ(problemOf(AnswerKind::kNumber, "tidak tahu"),
            "expected a number (there is no number in the answer)");
}

// ---- date ------------------------------------------------------------------------------------

TEST(AnswerDateTest, NumericDates) {
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17/08/2025"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17-08-2025"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17.08.2025"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "2025-08-17"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "2025/8/7"), "2025-08-07");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "7/8/25"), "2025-08-07");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17/08/95"), "1995-08-17");  // not 2095
  EXPECT_EQ(valueOf(AnswerKind::kDate, "tanggal 17/08/2025 jam 10.00 ya kak"), "2025-08-17");
  // Month first only when it cannot be day first.
  EXPECT_EQ(valueOf(AnswerKind::kDate, "08/17/2025"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "05/06/2025"), "2025-06-05");
}

TEST(AnswerDateTest, MonthNames) {
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17 Agustus 2025"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17 agu 2025"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17 Aug 2025"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17-Aug-25"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "August 17, 2025"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "Aug. 17th 2025"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "Sabtu, 1 Nopember 2025"), "2025-11-01");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "5 mei 2026"), "2026-05-05");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "31 Desember 2025"), "2025-12-31");
}

TEST(AnswerDateTest, WithoutAYearTheNextSuchDate) {
  // Today is 10 March 2025.
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17/8"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "17 Agustus"), "2025-08-17");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "10 maret"), "2025-03-10");  // today itself
  EXPECT_EQ(valueOf(AnswerKind::kDate, "9/3"), "2026-03-09");       // yesterday: next year
  EXPECT_EQ(valueOf(AnswerKind::kDate, "5 Januari"), "2026-01-05");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "March 9"), "2026-03-09");
  // 29 February: the next leap year.
  EXPECT_EQ(valueOf(AnswerKind::kDate, "29/2"), "2028-02-29");
  const year_month_day new_years_eve{std::chrono::year{2025}, std::chrono::month{12},
                                     std::chrono::day{31}};
  EXPECT_EQ(valueOf(AnswerKind::kDate, "2 Januari", new_years_eve), "2026-01-02");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "31/12", new_years_eve), "2025-12-31");
}

TEST(AnswerDateTest, RelativeWords) {
  EXPECT_EQ(valueOf(AnswerKind::kDate, "hari ini"), "2025-03-10");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "Today"), "2025-03-10");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "besok aja kak"), "2025-03-11");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "tomorrow"), "2025-03-11");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "lusa"), "2025-03-12");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "besok lusa"), "2025-03-12");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "the day after tomorrow"), "2025-03-12");
  const year_month_day leap_day{std::chrono::year{2024}, std::chrono::month{2},
                                std::chrono::day{28}};
  EXPECT_EQ(valueOf(AnswerKind::kDate, "besok", leap_day), "2024-02-29");
  const year_month_day year_end{std::chrono::year{2025}, std::chrono::month{12},
                                std::chrono::day{31}};
  EXPECT_EQ(valueOf(AnswerKind::kDate, "besok", year_end), "2026-01-01");
}

TEST(AnswerDateTest, LeapYears) {
  EXPECT_EQ(valueOf(AnswerKind::kDate, "29/02/2024"), "2024-02-29");
  EXPECT_EQ(valueOf(AnswerKind::kDate, "29/02/2000"), "2000-02-29");
  EXPECT_EQ(problemOf(AnswerKind::kDate, "29/02/2025"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (there is no 29 February "
            "2025: 2025 is not a leap year)");
  EXPECT_EQ(problemOf(AnswerKind::kDate, "29 Februari 1900"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (there is no 29 February "
            "1900: 1900 is not a leap year)");
}

TEST(AnswerDateTest, RejectsImpossibleDates) {
  EXPECT_EQ(problemOf(AnswerKind::kDate, "31/04"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (there is no 31 April: "
            "April has 30 days)");
  EXPECT_EQ(problemOf(AnswerKind::kDate, "31/02/2025"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (there is no 31 February "
            "2025: February 2025 has 28 days)");
  EXPECT_EQ(problemOf(AnswerKind::kDate, "32 Januari 2025"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (there is no 32 January "
            "2025: January 2025 has 31 days)");
  // Year first is always year-month-day.
  EXPECT_EQ(problemOf(AnswerKind::kDate, "2025-13-01"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (there is no month 13)");
  EXPECT_EQ(problemOf(AnswerKind::kDate, "13/13/2025"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (there is no month 13)");
  EXPECT_EQ(problemOf(AnswerKind::kDate, "17/08/1066"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (the year 1066 is "
            "unlikely)");
  EXPECT_EQ(problemOf(AnswerKind::kDate, "kapan aja"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (there is no date in the "
            "answer)");
  // A time is not a date.
  EXPECT_EQ(problemOf(AnswerKind::kDate, "jam 10.30"),
            "expected a date such as 17/08/2025 or 17 Agustus 2025 (there is no date in the "
            "answer)");
}

// ---- email -----------------------------------------------------------------------------------

TEST(AnswerEmailTest, AcceptsAndLowercasesTheDomain) {
  EXPECT_EQ(valueOf(AnswerKind::kEmail, "rina@gmail.com"), "rina@gmail.com");
  EXPECT_EQ(valueOf(AnswerKind::kEmail, "  Rina.Wati@GMAIL.Com "), "Rina.Wati@gmail.com");
  EXPECT_EQ(valueOf(AnswerKind::kEmail, "rina+promo@toko.co.id"), "rina+promo@toko.co.id");
  EXPECT_EQ(valueOf(AnswerKind::kEmail, "email saya rina@gmail.com ya kak"), "rina@gmail.com");
  EXPECT_EQ(valueOf(AnswerKind::kEmail, "<rina@gmail.com>."), "rina@gmail.com");
  EXPECT_EQ(valueOf(AnswerKind::kEmail, "mailto:rina@gmail.com"), "rina@gmail.com");
  EXPECT_EQ(valueOf(AnswerKind::kEmail, "a@xn--p1ai.xn--p1ai"), "a@xn--p1ai.xn--p1ai");
}

TEST(AnswerEmailTest, RejectsInvalidAddresses) {
  const std::string expected = "expected an email address such as name@example.com";
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "rina gmail com"),
            expected + " (there is no '@' in the answer)");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "rina@gmail"),
            expected + " ('gmail' is not a valid domain)");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "rina@gmail,com"),
            expected + " ('gmail,com' is not a valid domain)");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "rina@gmail..com"),
            expected + " ('gmail..com' is not a valid domain)");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "rina@-gmail.com"),
            expected + " ('-gmail.com' is not a valid domain)");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "rina@gmail.c0m"),
            expected + " ('gmail.c0m' is not a valid domain)");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "@gmail.com"),
            expected + " (the part before '@' is not valid)");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "rina..wati@gmail.com"),
            expected + " (the part before '@' is not valid)");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "rina @gmail.com"),
            expected + " (the part before '@' is not valid)");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "a@b@c.com"),
            expected + " (the answer has more than one '@')");
  EXPECT_EQ(problemOf(AnswerKind::kEmail, "a@b.com c@d.com"),
            expected + " (the answer has more than one '@')");
}

// ---- phone -----------------------------------------------------------------------------------

TEST(AnswerPhoneTest, NormalisesIndonesianNumbers) {
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "0812-3456-7890"), "6281234567890");
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "+62 812 3456 7890"), "6281234567890");
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "6281234567890"), "6281234567890");
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "+62 0812 3456 7890"), "6281234567890");
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "(0812) 3456.7890"), "6281234567890");
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "812 3456 7890"), "6281234567890");
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "0062 812 3456 7890"), "6281234567890");
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "021-7654321"), "62217654321");
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "WA: 0812 3456 7890 (whatsapp)"), "6281234567890");
}

TEST(AnswerPhoneTest, OtherCountries) {
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "+44 (0)20 7946 0958"), "442079460958");
  EXPECT_EQ(valueOf(AnswerKind::kPhone, "+1 (415) 555-0100"), "14155550100");
  AnswerRules rules;
  rules.kind = AnswerKind::kPhone;
  rules.country_code = "60";  // Malaysia
  EXPECT_EQ(checkAnswer(rules, "012-345 6789", kToday).value, "60123456789");
  // The "8..." shortcut is Indonesian only.
  EXPECT_EQ(checkAnswer(rules, "812 3456 7890", kToday).value, "81234567890");
}

TEST(AnswerPhoneTest, RejectsWhatIsNotOnePhoneNumber) {
  const std::string expected =
      "expected a phone number such as 0812-3456-7890 or +62 812 3456 7890";
  EXPECT_EQ(problemOf(AnswerKind::kPhone, "belum punya"),
            expected + " (there are no digits in the answer)");
  EXPECT_EQ(problemOf(AnswerKind::kPhone, "12345"),
            expected + " (a phone number has 8 to 15 digits, this has 5)");
  EXPECT_EQ(problemOf(AnswerKind::kPhone, "+62 812 3456 7890 1234"),
            expected + " (a phone number has 8 to 15 digits, this has 17)");
  EXPECT_EQ(problemOf(AnswerKind::kPhone, "0812 atau 0813"),
            expected + " ('a' is not part of a phone number)");
  EXPECT_EQ(problemOf(AnswerKind::kPhone, "0812/3456/7890"),
            expected + " ('/' is not part of a phone number)");
  EXPECT_EQ(problemOf(AnswerKind::kPhone, "62+812345678"),
            expected + " ('+' is not part of a phone number)");
}

// ---- regex -----------------------------------------------------------------------------------

TEST(AnswerRegexTest, SearchesCaseInsensitively) {
  AnswerRules rules;
  rules.kind = AnswerKind::kRegex;
  rules.pattern = "^INV-\\d{4}$";
  AnswerCheck result = checkAnswer(rules, "  inv-2025 ", kToday);
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.value, "inv-2025");
  result = checkAnswer(rules, "inv-20255", kToday);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.problem,
            "expected an answer matching '^INV-\\d{4}$' (the pattern is not found in the answer)");
  rules.pattern = "ya|tidak";
  EXPECT_TRUE(checkAnswer(rules, "Iya, YA kak", kToday).ok);  // found anywhere
  EXPECT_FALSE(checkAnswer(rules, "mungkin", kToday).ok);
  EXPECT_EQ(checkAnswer(rules, " ", kToday).problem,
            "expected an answer matching 'ya|tidak' (the message is empty)");
}

TEST(AnswerRegexTest, InvalidPatternIsAProblemNotACrash) {
  AnswerRules rules;
  rules.kind = AnswerKind::kRegex;
  rules.pattern = "([a-z";
  const AnswerCheck result = checkAnswer(rules, "abc", kToday);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.problem.rfind("expected an answer matching '([a-z' (the pattern is not a valid "
                                 "regular expression: ",
                                 0),
            0u)
      << result.problem;
}

// A customer can send 40,000 characters. std::regex recursed about once per character, so
// `\d+` or `.*` over such an answer overflowed the stack and killed the daemon (SIGSEGV), again
// at every restart. RE2 searches in linear time without recursion.
TEST(AnswerRegexTest, A40000CharacterAnswerIsCheckedWithoutCrashing) {
  const std::string digits(40000, '7');
  AnswerRules rules;
  rules.kind = AnswerKind::kRegex;
  for (const char* pattern : {"\\d+", ".*", "^\\d+$", "(\\d|x)+$", "^(a|\\d)*$"}) {
    SCOPED_TRACE(pattern);
    rules.pattern = pattern;
    const AnswerCheck check = checkAnswer(rules, digits, kToday);
    EXPECT_TRUE(check.ok) << check.problem;
  }
  rules.pattern = "^\\d+$";
  EXPECT_FALSE(checkAnswer(rules, digits + "x", kToday).ok);
}

TEST(AnswerRegexTest, PatternsUseRe2SyntaxWithUnicodeCharacters) {
  AnswerRules rules;
  rules.kind = AnswerKind::kRegex;
  rules.pattern = "^.{1,5}$";                           // characters, not bytes
  EXPECT_TRUE(checkAnswer(rules, "kue🍰!", kToday).ok);  // 5 characters, 8 bytes
  EXPECT_FALSE(checkAnswer(rules, "kue🍰ok", kToday).ok);
  rules.pattern = "(\\w+) \\1";  // a backreference: RE2 refuses it
  const AnswerCheck refused = checkAnswer(rules, "ya ya", kToday);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.problem.find("invalid escape sequence: \\1"), std::string::npos)
      << refused.problem;
}

TEST(AnswerRegexTest, SharedCacheFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<int> matched(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &matched] {
      AnswerRules rules;
      rules.kind = AnswerKind::kRegex;
      for (int i = 0; i < 300; ++i) {
        // More distinct patterns than the cache keeps, so it is also emptied under contention.
        rules.pattern = "^k" + std::to_string((i * 7 + t) % 300) + "$";
        const std::string answer = "K" + std::to_string((i * 7 + t) % 300);
        if (checkAnswer(rules, answer, kToday).ok && !checkAnswer(rules, "k", kToday).ok) {
          ++matched[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (int count : matched) {
    EXPECT_EQ(count, 300);
  }
}

}  // namespace
}  // namespace waflow::core::flow
